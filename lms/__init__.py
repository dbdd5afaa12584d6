"""Xiangxue (乡学): the app factory. Nothing happens at import time."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from lms.config import REPO_ROOT, Config, load_environment

# Blueprints and CLI groups, registered in this order. Each area adds its line here.
BLUEPRINTS = (
    "lms.main.views",
    "lms.accounts.views",
    "lms.admin.views",
    "media.views",
    "courses.views",
    "lms.learning.views",
    "search.views",
    "lms.households.views",
    "lms.stats.views",
    "lms.skills.views",
)
# Modules defining huey tasks: imported by every process so web requests can enqueue and the
# worker can run them.
TASK_MODULES: tuple[str, ...] = (
    "media.tasks",
    "search.tasks",
    "lms.households.tasks",
    "lms.stats.tasks",
)
CLI_GROUPS = (
    "lms.regions.cli",
    "lms.accounts.cli",
    "lms.demo.cli",
    "lms.households.cli",
    "lms.worker.cli",
    "media.cli",
    "courses.cli",
    "search.cli",
    "lms.stats.cli",
    "lms.skills.cli",
)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(REPO_ROOT / "instance"), instance_relative_config=False)
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    load_environment(app.config)
    Path(app.config["INSTANCE_PATH"]).mkdir(parents=True, exist_ok=True)

    from lms import compression, extensions, i18n, inputs, queue, security, sessions, ui

    inputs.init_app(app)  # first: the URL converter and JSON parsing every area's routes use
    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(REPO_ROOT / "migrations"),
                                render_as_batch=True, compare_type=True)
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    i18n.init_app(app)
    sessions.init_app(app)
    security.init_app(app)
    queue.init_app(app)
    ui.init_app(app)
    compression.init_app(app)

    from importlib import import_module

    for module in BLUEPRINTS:
        app.register_blueprint(import_module(module).bp)
    for module in TASK_MODULES:
        import_module(module)
    for module in CLI_GROUPS:
        app.cli.add_command(import_module(module).cli)

    from lms import errors, models  # noqa: F401  (models: every table known to the metadata)

    errors.init_app(app)
    from lms import deploy

    deploy.init_app(app)
    from lms import followup

    followup.init_app(app)
    security.trust_proxies(app)  # last: outside every WSGI layer, the heartbeat fast path's too
    return app
