"""Media: assets, resumable upload, probe, transcoding ladder, jobs, storage, streaming.

This package knows nothing of courses; other areas use `media.queries.playback` and, in their own
``init_app``, register in-use checkers (`media.services.register_in_use_checker`) and viewer
checks (`media.access.register_viewer_check`).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


def init_app(app) -> None:
    from lms.sessions import PASSIVE_ENDPOINTS
    from lms.settings import register_default
    from lms.ui import register_nav

    from . import cli, fastpath, models, tasks, views  # noqa: F401  (tasks: transcoding jobs, known to every process)

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.cli)
    register_nav("media.my_media", _l("My media"), views.STAFF, 30)
    register_nav("media.alerts", _l("Storage alerts"), ("admin",), 86)
    register_default("media_max_upload_mb", 4096, _l("Largest video or audio upload accepted, in MB"), int)
    register_default("media_max_minutes", 240, _l("Longest recording accepted, in minutes"), int)
    register_default("media_abandoned_upload_hours", 48,
                     _l("Hours after the last piece of an unfinished upload before it is removed"), int)
    register_default("media_min_free_mb", 1024,
                     _l("Space kept free on the media volume: uploads and conversions that would eat into it "
                        "are refused, in MB"), int)
    # Segment fetches are not activity (like static files): the player's heartbeat is.
    PASSIVE_ENDPOINTS.add("media.file")
    fastpath.install(app)  # signed segment links (/media/s/…) are answered in front of Flask
