"""Moving media files in and out of course packages through the media area's normal pipeline."""
from __future__ import annotations

from pathlib import Path

from flask_babel import gettext as _


class MediaImportError(ValueError):
    pass


def ingest(path: Path, title: str, actor=None) -> int:
    """Create an asset from a file and transcode it now; returns the asset id or raises with the
    media area's message (the caller rolls back the whole import)."""
    from media import services

    asset = services.ingest_file(str(path), title=title, actor=actor, wait=True)
    if getattr(asset, "status", None) is not None and getattr(asset.status, "value", asset.status) != "ready":
        raise MediaImportError(_("The media file %(name)s could not be transcoded: %(error)s",
                                 name=path.name, error=getattr(asset, "error_message", "") or ""))
    return asset.id


def export_file(asset_id: int) -> Path | None:
    """The best file to carry in a package: the original upload if kept, else the MP4."""
    from media import queries

    finder = getattr(queries, "export_path", None) or getattr(queries, "source_file", None)
    if finder is None:
        return None
    found = finder(asset_id)
    return Path(found) if found else None
