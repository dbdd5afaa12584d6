"""``flask demo seed``: demo regions, accounts and the steps other areas register (``lms.seeds``)."""
from __future__ import annotations


def init_app(app) -> None:
    from . import cli

    app.cli.add_command(cli.cli)
