"""``flask worker``: the job consumer and the outbox relay."""
from __future__ import annotations


def init_app(app) -> None:
    from . import cli

    app.cli.add_command(cli.cli)
