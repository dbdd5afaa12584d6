"""Deployment: ``flask deploy nginx``, ``flask keys``, ``/healthz`` and the worker's heartbeat.

Sits at the top of the dependency order (it reads every area's routes and static folders).
"""
from __future__ import annotations


def init_app(app) -> None:
    from . import cli, models, tasks, views  # noqa: F401  (tasks: the worker's heartbeat job, known to every process)

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.cli)
    app.cli.add_command(cli.keys_cli)
