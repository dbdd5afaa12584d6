"""Administrative divisions (统计用区划代码) and region scoping."""
from __future__ import annotations


def init_app(app) -> None:
    from . import cli, models  # noqa: F401  (models: the table known to the metadata)

    app.cli.add_command(cli.cli)
    from .picker import bp

    app.register_blueprint(bp)
