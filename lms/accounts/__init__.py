"""Accounts, roles and sign-in."""
from __future__ import annotations


def init_app(app) -> None:
    from . import cli, models, views  # noqa: F401  (models: the tables known to the metadata)

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.cli)
