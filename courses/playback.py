"""The one place courses asks the media area about an asset.

``media.queries.playback(asset_id)`` returns a dict with the URLs of the master playlist, the
progressive MP4, the audio rendition and the poster, plus ``duration`` and ``status``.
"""
from __future__ import annotations


def playback(asset_id: int | None) -> dict | None:
    if not asset_id:
        return None
    from flask import current_app, has_request_context

    from media import queries

    if not has_request_context():
        # CLI and jobs (course import): media builds its URLs with url_for.
        with current_app.test_request_context():
            return queries.playback(asset_id)
    return queries.playback(asset_id)


def may_use(actor, asset_id: int | None) -> bool:
    """Only a trainer's own media (an admin's: any) may go into their lessons and quiz prompts."""
    from media import access

    if actor is None:  # the command line (flask courses import/demo): the operator's own server
        return bool(asset_id)
    return bool(asset_id) and access.may_use(actor, asset_id)
