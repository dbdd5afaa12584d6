"""Who may watch an asset: its owner, admins, and whoever may open a page that uses it.

Media knows nothing of courses, so the areas that put media on pages (courses: lessons, quiz
prompts, covers) register a check ``fn(user, asset_id) -> bool`` that answers with the same
access rule their pages use. Every media file the app serves (playlists, MP4, audio, poster, and
segments fetched through the session route) goes through :func:`may_watch`; signed segment links
carry their own, narrower permission (``media.links``).
"""
from __future__ import annotations

from collections.abc import Callable

from lms.inputs import MAX_ID

from .models import Asset

VIEWER_CHECKS: list[Callable[[object, int], bool]] = []


def register_viewer_check(check: Callable[[object, int], bool]) -> None:
    if check not in VIEWER_CHECKS:
        VIEWER_CHECKS.append(check)


def may_watch(user, asset: Asset) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if asset.owner_id is not None and asset.owner_id == user.id:
        return True
    if user.has_role("admin"):
        return True
    return any(check(user, asset.id) for check in VIEWER_CHECKS)


def may_use(user, asset_id: int) -> bool:
    """Whether ``user`` may put the asset on a page (a lesson, a quiz prompt, a cover): only
    their own media; an admin any."""
    from lms.extensions import db

    if user is None or not isinstance(asset_id, int) or isinstance(asset_id, bool):
        return False
    if not 0 < asset_id <= MAX_ID:
        return False
    if user.has_role("admin"):
        return True
    owner = db.session.scalar(db.select(Asset.owner_id).where(Asset.id == asset_id))
    return owner is not None and owner == user.id
