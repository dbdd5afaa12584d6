"""Disk space on the media volume: refuse an upload that cannot fit, turn ENOSPC into a clear
message, free partial files at once, and alert admins (a persistent row, audited).

Estimate (README "Media"): an upload of N bytes needs N for the file itself and about N again for
its transcode (the ladder's rungs are capped low and never upscale, so together they stay below a
phone or camera original), plus ``media_min_free_mb`` kept free for everything else.
A transcode about to start needs ``LADDER_MB_PER_MINUTE`` per minute of the recording plus the
same reserve.
"""
from __future__ import annotations

import errno
import os
import shutil

from flask import current_app
from flask_babel import gettext as _

from lms.audit import record
from lms.db import utcnow
from lms.extensions import db
from lms.settings import get_setting

from .models import StorageAlert


# Every rung at its cap (DESIGN.md "Video ladder": 0.24 + 1.1 + 2.0 + 3.5 + 6.0) plus the 240p MP4
# (2.0), rounded up: the most a minute of recording can take once converted.
LADDER_MB_PER_MINUTE = 16
NO_SPACE_MARKER = "No space left on device"


class NoSpace(Exception):
    """The media volume lacks ``shortfall`` bytes (0 when unknown: ENOSPC while writing)."""

    def __init__(self, shortfall: int = 0, free: int | None = None):
        super().__init__(shortfall)
        self.shortfall, self.free = shortfall, free


def _existing(path: str) -> str:
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path or "/"


def reserve_bytes() -> int:
    return max(0, int(get_setting("media_min_free_mb"))) * 1024 * 1024


def disk_status(root: str | None = None) -> dict:
    """{"free", "total" (bytes), "reserve", "ok"} for the media volume; ``ok`` is False once free
    space is below the reserve (``media_min_free_mb``). For /healthz and the admin page."""
    root = str(root or current_app.config["MEDIA_ROOT"])
    usage = shutil.disk_usage(_existing(root))
    reserve = reserve_bytes()
    return {"free": usage.free, "total": usage.total, "reserve": reserve, "ok": usage.free >= reserve}


def upload_needs(size: int) -> int:
    return 2 * size + reserve_bytes()


def transcode_needs(duration: float | None) -> int:
    minutes = max(1.0, (duration or 0) / 60)
    return int(minutes * LADDER_MB_PER_MINUTE * 1024 * 1024) + reserve_bytes()


def require(needed: int) -> None:
    """Raise NoSpace when the media volume has less than ``needed`` bytes free."""
    free = shutil.disk_usage(_existing(str(current_app.config["MEDIA_ROOT"]))).free
    if free < needed:
        raise NoSpace(needed - free, free)


def is_no_space(exc: BaseException) -> bool:
    """ENOSPC (or a full quota) from Python, or ffmpeg saying so in its error output."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return NO_SPACE_MARKER in (getattr(exc, "stderr", "") or "") or NO_SPACE_MARKER in str(exc)


def human_size(n: int) -> str:
    """1.2 GB, 350 MB: the size a trainer reads in the refusal."""
    if n >= 1024 ** 3:
        return f"{n / 1024 ** 3:.1f} GB"
    return f"{max(1, -(-n // 1024 ** 2))} MB"


def refusal_message(exc: NoSpace) -> str:
    if exc.shortfall:
        return _("The server is short of storage space: %(size)s more is needed. Please tell the administrator.",
                 size=human_size(exc.shortfall))
    return _("The server ran out of storage space; the upload was stopped and its unfinished part removed. "
             "Please tell the administrator.")


def alert(kind: str, *, asset=None, user=None, exc: NoSpace | None = None) -> StorageAlert:
    """Record an alert for admins (and its audit entry) in the current transaction."""
    free = exc.free if exc is not None and exc.free is not None else _free_or_none()
    row = StorageAlert(kind=kind, asset_id=getattr(asset, "id", None), user_id=getattr(user, "id", None),
                       needed=exc.shortfall if exc is not None and exc.shortfall else None, free=free)
    db.session.add(row)
    db.session.flush()
    record(user, "media.storage_alert", asset if asset is not None else f"storage_alert:{row.id}",
           {"kind": kind, "needed": row.needed, "free": free})
    return row


def _free_or_none() -> int | None:
    try:
        return shutil.disk_usage(_existing(str(current_app.config["MEDIA_ROOT"]))).free
    except OSError:
        return None


def open_alerts(limit: int = 100) -> list[StorageAlert]:
    return list(db.session.scalars(db.select(StorageAlert).where(StorageAlert.resolved_at.is_(None))
                                   .order_by(StorageAlert.created_at.desc(), StorageAlert.id.desc()).limit(limit)))


def resolve_alerts(actor, ids) -> int:
    rows = db.session.scalars(db.select(StorageAlert).where(StorageAlert.id.in_(list(ids)),
                                                            StorageAlert.resolved_at.is_(None))).all()
    for row in rows:
        row.resolved_at, row.resolved_by_id = utcnow(), actor.id
        record(actor, "media.storage_alert_resolved", f"storage_alert:{row.id}", {"kind": row.kind})
    db.session.flush()
    return len(rows)
