"""Reads for media, including the one function other areas call: `playback(asset_id)`."""
from __future__ import annotations

import os

from flask import current_app, url_for
from sqlalchemy import select

from lms.extensions import db

from . import ladder, storage
from .models import Asset, AssetStatus


def file_url(asset: Asset, name: str) -> str:
    """A versioned URL: a new transcode gets a new version, so responses can be immutable."""
    return url_for("media.file", asset_id=asset.id, version=asset.version, name=name, _external=False)


def playback(asset_id: int) -> dict | None:
    """Everything a player needs, for the courses area (which knows nothing of files):

    {"asset", "status", "kind", "duration", "title", "master", "variants": [{"name", "kind",
    "width", "height", "bandwidth", "url"}], "mp4", "audio", "poster"}; URLs are None until ready.
    """
    asset = db.session.get(Asset, asset_id)
    if asset is None:
        return None
    ready = asset.status == AssetStatus.ready
    variants = [{"name": r.name, "kind": r.kind, "width": r.width, "height": r.height,
                 "bandwidth": r.bandwidth, "url": file_url(asset, r.playlist)}
                for r in asset.renditions] if ready else []
    audio = next((v["url"] for v in variants if v["kind"] == "audio"), None)
    video = ready and asset.kind == "video"
    return {
        "asset": asset.id, "status": asset.status.value, "kind": asset.kind, "title": asset.title,
        "duration": asset.duration, "progress": asset.progress,
        "master": file_url(asset, ladder.MASTER_NAME) if ready else None,
        "variants": variants, "audio": audio,
        "mp4": file_url(asset, ladder.MP4_NAME) if video else None,
        "poster": file_url(asset, ladder.POSTER_NAME) if video else None,
    }


def ingest_report(asset: Asset) -> dict:
    """The JSON of `flask media ingest --json`: paths relative to LMS_MEDIA_ROOT."""
    ready = asset.status == AssetStatus.ready

    def rel(name):
        return storage.version_relpath(asset.id, asset.version, name) if ready else None

    video = ready and asset.kind == "video"
    return {
        "asset": asset.id, "status": asset.status.value,
        "error": asset.error_message, "duration": asset.duration,
        "renditions": [{"name": r.name, "kind": r.kind, "width": r.width or None,
                        "height": r.height or None, "bitrate": r.bitrate, "bytes": r.bytes,
                        "playlist": rel(r.playlist)} for r in asset.renditions] if ready else [],
        "master": rel(ladder.MASTER_NAME),
        "mp4": rel(ladder.MP4_NAME) if video else None,
        "poster": rel(ladder.POSTER_NAME) if video else None,
    }


def assets_for(user):
    """A trainer sees their own media; an admin sees everyone's."""
    stmt = select(Asset).order_by(Asset.created_at.desc(), Asset.id.desc())
    if not user.has_role("admin"):
        stmt = stmt.where(Asset.owner_id == user.id)
    return stmt


def status_of(asset: Asset) -> dict:
    return {"id": asset.id, "status": asset.status.value, "progress": asset.progress,
            "error": asset.error_message, "title": asset.title}


def ready_assets(user):
    """The media a trainer can put in a lesson (courses' picker)."""
    return db.session.scalars(assets_for(user).where(Asset.status == AssetStatus.ready).limit(500)).all()


def ready_asset_of(user, asset_id: int) -> Asset | None:
    """One ready asset the user may use (their own; any for an admin), else None."""
    return db.session.scalar(assets_for(user).where(Asset.id == asset_id, Asset.status == AssetStatus.ready))


def export_path(asset_id: int) -> str | None:
    """The best file to carry elsewhere (course packages): the original, else the 240p MP4."""
    asset = db.session.get(Asset, asset_id)
    if asset is None:
        return None
    root = str(current_app.config["MEDIA_ROOT"])
    candidates = [storage.source_path(root, asset.id, asset.source_ext)]
    if asset.status == AssetStatus.ready and asset.kind == "video":
        candidates.append(os.path.join(storage.version_dir(root, asset.id, asset.version), ladder.MP4_NAME))
    return next((c for c in candidates if os.path.isfile(c)), None)
