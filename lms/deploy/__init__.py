"""Deployment: ``flask deploy nginx``, ``flask keys``, ``/healthz`` and the worker's heartbeat.

Sits at the top of the dependency order (it reads every area's routes and static folders).
"""
from __future__ import annotations


def init_app(app) -> None:
    from . import cli

    app.cli.add_command(cli.cli)
