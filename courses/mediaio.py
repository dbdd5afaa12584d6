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
    from media.models import AssetStatus

    asset = services.ingest_file(str(path), title=title, actor=actor, wait=True)
    if asset.status is not AssetStatus.ready:
        raise MediaImportError(_("The media file %(name)s could not be transcoded: %(error)s",
                                 name=path.name, error=asset.error_message or ""))
    return asset.id


def export_file(asset_id: int) -> Path | None:
    """The best file to carry in a package: the original upload if kept, else the MP4."""
    from media import queries

    found = queries.export_path(asset_id)
    return Path(found) if found else None
