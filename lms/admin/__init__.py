"""Admin pages: accounts, settings, the audit log, failed jobs."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from lms.ui import register_nav

    from . import views

    app.register_blueprint(views.bp)
    register_nav("admin.users", _l("Users"), ("admin",), 80)
    register_nav("admin.settings", _l("Settings"), ("admin",), 81)
    register_nav("admin.audit", _l("Audit log"), ("admin",), 82)
    register_nav("admin.jobs", _l("Failed jobs"), ("admin",), 83)
