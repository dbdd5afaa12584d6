"""Removing uploads left unfinished (a periodic job): the asset row, its audit entry, its files."""
from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone

from sqlalchemy import event, select

from lms.audit import record
from lms.db import utcnow
from lms.extensions import db
from lms.settings import get_setting

from . import storage
from .models import Asset, AssetStatus
from .services import media_root, received_bytes, uses_of

log = logging.getLogger(__name__)


def _part_mtime(root: str, asset_id: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(os.path.getmtime(storage.upload_path(root, asset_id)), timezone.utc)
    except FileNotFoundError:
        return None


def remove_abandoned_uploads(now=None) -> list[int]:
    """Remove uploads left unfinished (no piece received for ``media_abandoned_upload_hours``):
    the ``uploading`` asset with an audit entry, its ``.part`` file once that commits, and any
    ``.part`` file that has no uploading asset (a failed request left it). Returns the asset ids."""
    now = now or utcnow()
    cutoff = now - timedelta(hours=int(get_setting("media_abandoned_upload_hours")))
    root = media_root()
    removed = []
    rows = db.session.scalars(select(Asset).where(Asset.status == AssetStatus.uploading,
                                                  Asset.updated_at < cutoff)).all()
    for asset in rows:
        last = _part_mtime(root, asset.id)  # the part file is the truth; the row may lag
        if (last is not None and last >= cutoff) or uses_of(asset.id):
            continue
        record(None, "media.upload_abandoned", asset, {
            "title": asset.title, "owner_id": asset.owner_id, "received": received_bytes(asset),
            "size": asset.upload_size, "last_piece": (last or asset.updated_at).isoformat()})
        db.session.delete(asset)
        removed.append(asset.id)
    db.session.flush()
    uploading = set(db.session.scalars(select(Asset.id).where(Asset.status == AssetStatus.uploading)))
    orphans = []
    folder = os.path.join(root, "uploads")
    if os.path.isdir(folder):
        for entry in os.scandir(folder):
            stem = entry.name.removesuffix(".part")
            if not (entry.name.endswith(".part") and stem.isdigit()) or int(stem) in uploading:
                continue
            last = _part_mtime(root, int(stem))
            if int(stem) not in removed and last is not None and last < cutoff:
                orphans.append(entry.path)

    @event.listens_for(db.session(), "after_commit", once=True)
    def _remove_files(_session):
        for asset_id in removed:
            storage.remove_asset(root, asset_id)
        for path in orphans:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
        if removed or orphans:
            log.info("removed abandoned uploads: assets %s, orphan part files %s", removed, orphans)

    return removed
