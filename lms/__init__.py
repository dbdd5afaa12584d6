"""Xiangxue (乡学): the app factory. Nothing happens at import time."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from lms.config import REPO_ROOT, Config, load_environment


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

    # Each area's one door, lowest layer first (the README's Architecture section; .importlinter
    # checks the layers). A door registers everything its area brings: blueprint, CLI group, nav
    # entries, settings defaults, signal receivers, seed steps, jobs. A door that fails stops the
    # start here, with its own error.
    import courses
    import media
    import search
    from lms import (accounts, admin, audit, demo, followup, households, learning, main, regions, settings,
                     skills, stats, subsidies, worker)

    for area in (settings, audit, regions, accounts, households, media, courses, search, learning, skills,
                 stats, followup, subsidies, main, admin, demo, worker):
        area.init_app(app)

    from lms import deploy, errors

    errors.init_app(app)
    deploy.init_app(app)  # after every area: it reads their routes and static folders
    security.trust_proxies(app)  # last: outside every WSGI layer, the heartbeat fast path's too
    return app
