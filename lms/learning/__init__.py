"""Learning: progress and the heartbeat, completion, quiz attempts, certificates, village terminals,
and the learner's pages (home, catalogue, course, lesson, quiz)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from lms.settings import register_default
    from lms.ui import register_nav, register_signin_link

    from . import completion, fastpath, models, pages, views  # noqa: F401  (models: the tables known to the metadata)

    app.register_blueprint(views.bp)
    app.register_blueprint(pages.bp)
    register_nav("learner.home", _l("My learning"), ("learner",), order=10)
    register_nav("learner.catalogue", _l("All courses"), ("learner",), order=11)
    register_nav("learning.terminals", _l("Terminals"), ("admin",), order=80)
    register_signin_link("learning.terminal_signin", _l("Pick your name (village terminal)"), order=5)
    register_default("learning.completion_threshold", completion.DEFAULT_THRESHOLD,
                     _l("Share of a video or audio lesson that must be watched to complete it (0-1)"), float)
    register_default("learning.document_seconds", completion.DEFAULT_DOCUMENT_SECONDS,
                     _l("Seconds a document lesson must be open before it counts as read"), int)
    fastpath.install(app)  # accepted heartbeats are answered in front of Flask
