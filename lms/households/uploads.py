"""The life of an uploaded household import: its states, the lease of the job that runs it, and
the end of uploads nobody confirms. Services flush, never commit (the job or request does).

A running import holds one long transaction (on SQLite, the database's write lock) until it
ends, so it cannot renew a lease in the database as the media jobs do. It renews it beside the
upload instead: every chunk rewrites the progress file (``tasks.progress_path``), whose time of
change is the lease. The database holds the claim (``lease_token``) and the first expiry; the
periodic sweep declares an import dead only when both have passed, marks it failed (it changed
nothing: its transaction died with its worker) and removes its file.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from lms.db import utcnow
from lms.extensions import db

from .models import HouseholdImport

# The longest a running import may go without rewriting its progress file. Chunks of 1,000 rows
# take well under a second; the quiet phases (counting an XLSX's rows, the pass that finds split
# households, the commit of a million rows) take a few minutes at most at province scale.
LEASE_SECONDS = 15 * 60

# Every state as the official reads it; the codes never reach a page.
STATES = {
    "uploaded": _l("Waiting for confirmation"),
    "queued": _l("Waiting to start"),
    "running": _l("Importing"),
    "done": _l("Finished"),
    "failed": _l("Failed"),
    "expired": _l("Expired: not confirmed in time"),
    "discarded": _l("Discarded"),
}
# Why an import failed, when it is not an error of the job itself (report["failure"]).
WORKER_LOST = "worker_lost"


def state_label(status: str) -> str:
    return str(STATES.get(status, STATES["failed"]))


def claim(import_id: int) -> str | None:
    """Take a queued import for this job: its lease token, or None when it is not queued (run
    already, discarded, or claimed by another worker)."""
    token = secrets.token_hex(8)
    claimed = db.session.execute(
        update(HouseholdImport)
        .where(HouseholdImport.id == import_id, HouseholdImport.status == "queued")
        .values(status="running", lease_token=token,
                lease_expires_at=utcnow() + dt.timedelta(seconds=LEASE_SECONDS))
        .execution_options(synchronize_session=False)).rowcount
    return token if claimed else None


def owned(import_id: int, token: str):
    """An UPDATE of the import that changes it only while this job still holds its lease."""
    return (update(HouseholdImport)
            .where(HouseholdImport.id == import_id, HouseholdImport.lease_token == token)
            .execution_options(synchronize_session=False))


def renewed_until(rec: HouseholdImport) -> dt.datetime | None:
    """When the lease the job renewed beside the upload ends (None: never renewed there)."""
    from .tasks import progress_path

    if not rec.stored_path:
        return None
    try:
        changed = os.stat(progress_path(rec.stored_path)).st_mtime
    except OSError:
        return None
    return dt.datetime.fromtimestamp(changed, dt.timezone.utc) + dt.timedelta(seconds=LEASE_SECONDS)


def remove_files(stored_path: str | None) -> None:
    from .tasks import progress_path

    if not stored_path:
        return
    for path in (stored_path, progress_path(stored_path)):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def fail_dead_imports(now: dt.datetime | None = None) -> list[int]:
    """Imports whose job died (both leases passed): marked failed, their files removed. Audited."""
    from lms.audit import record

    now = now or utcnow()
    dead = []
    stmt = select(HouseholdImport).where(HouseholdImport.status == "running",
                                         HouseholdImport.lease_expires_at < now)
    for rec in db.session.scalars(stmt).all():
        until = renewed_until(rec)
        if until is not None and until > now:
            continue  # the job is still renewing its lease beside the upload
        path = rec.stored_path
        gone = db.session.execute(owned(rec.id, rec.lease_token).values(
            status="failed", lease_token=None, lease_expires_at=None, stored_path=None,
            finished_at=now, report={"failure": WORKER_LOST})).rowcount
        if not gone:
            continue
        db.session.expire(rec)
        record(None, "households.import_lost", rec, {"user": rec.user_id})
        remove_files(path)
        dead.append(rec.id)
    db.session.flush()
    return dead


def preview_hours() -> int:
    from lms.settings import get_setting

    # At least an hour: a mistyped 0 must not remove a file while its official is reading the preview.
    return max(1, int(get_setting("households.preview_hours")))


def expire_previews(now: dt.datetime | None = None) -> list[int]:
    """Uploads previewed but not confirmed within ``households.preview_hours``: expired, their
    files removed. Audited."""
    from lms.audit import record

    now = now or utcnow()
    limit = now - dt.timedelta(hours=preview_hours())
    expired = []
    stmt = select(HouseholdImport).where(HouseholdImport.status == "uploaded",
                                         HouseholdImport.created_at < limit)
    for rec in db.session.scalars(stmt).all():
        path = rec.stored_path
        rec.status, rec.stored_path, rec.finished_at = "expired", None, now
        record(None, "households.import_expired", rec, {"user": rec.user_id})
        remove_files(path)
        expired.append(rec.id)
    db.session.flush()
    return expired


class NotDiscardable(ValueError):
    """Only an upload still waiting for confirmation can be discarded."""


def discard(rec: HouseholdImport, actor) -> None:
    """The official drops an upload they previewed: its file is removed, nothing imported. Audited."""
    from lms.audit import record

    if rec.status != "uploaded":
        raise NotDiscardable(rec.status)
    path = rec.stored_path
    rec.status, rec.stored_path, rec.finished_at = "discarded", None, utcnow()
    record(actor, "households.import_discarded", rec, {"file": rec.filename})
    db.session.flush()
    remove_files(path)
