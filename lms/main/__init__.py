"""The front door: home per role, language switch, session status."""
from __future__ import annotations


def init_app(app) -> None:
    from . import views

    app.register_blueprint(views.bp)
