"""Queue jobs of the registry: a large import runs here, with progress."""
from __future__ import annotations

from huey import crontab

from lms.queue import app_periodic_task, app_task


def progress_path(stored_path: str) -> str:
    # Progress lives beside the upload, not in the database: the import's own
    # transaction holds SQLite's write lock until it ends.
    return stored_path + ".progress"


def read_progress(stored_path: str | None) -> int | None:
    if not stored_path:
        return None
    try:
        with open(progress_path(stored_path), encoding="ascii") as fh:
            return int(fh.read() or 0)
    except (OSError, ValueError):
        return None


def estimate_rows(path: str) -> int:
    """Rows in a file, cheaply: lines of a CSV, the used height of an XLSX."""
    with open(path, "rb") as fh:
        head = fh.read(4)
        if head.startswith(b"PK"):
            from python_calamine import CalamineWorkbook

            return CalamineWorkbook.from_path(path).get_sheet_by_index(0).height
        fh.seek(0)
        return sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))


@app_task(retries=0)
def run_import(import_id: int) -> None:
    """Run an uploaded import under a lease (``uploads``); the report lands on the import record."""
    from lms.audit import record
    from lms.db import utcnow
    from lms.extensions import db
    from lms.regions.scope import write_prefix
    from .models import HouseholdImport
    from .importing.run import import_households
    from .uploads import claim, owned, remove_files

    token = claim(import_id)
    db.session.commit()
    if token is None:
        return
    rec = db.session.get(HouseholdImport, import_id)
    path, user = rec.stored_path, rec.user

    def progress(rows: int) -> None:
        # Each write also renews the job's lease (the file's time of change).
        with open(progress_path(path), "w", encoding="ascii") as fh:
            fh.write(str(rows))

    try:
        progress(0)
        rec.rows_total = estimate_rows(path)
        db.session.commit()
        # The uploader's region when the job runs: an official moved since uploading imports
        # into their new region only; an account with no region imports nothing.
        report = import_households(path, filename=rec.filename, user=user, record=rec,
                                   dry_run=rec.dry_run, strict=rec.strict,
                                   create_regions=rec.create_regions,
                                   scope=write_prefix(user) if user is not None else "-",
                                   progress=progress)
        progress(report.rows)
    except Exception:
        db.session.rollback()
        db.session.execute(owned(import_id, token).values(
            status="failed", finished_at=utcnow(), lease_token=None, lease_expires_at=None))
        db.session.commit()
        raise
    if not report.changes_kept:
        db.session.rollback()
    data = report.as_dict()
    kept = db.session.execute(owned(import_id, token).values(
        status="done", report=data, exit_code=report.exit_code, rows_done=report.rows,
        rows_total=report.rows, finished_at=utcnow(), stored_path=None, lease_token=None,
        lease_expires_at=None)).rowcount
    if not kept:  # declared dead meanwhile (its file is gone): this run must not count
        db.session.rollback()
        return
    rec = db.session.get(HouseholdImport, import_id)
    db.session.refresh(rec)
    record(rec.user, "households.import", rec, {
        k: v for k, v in data.items() if k not in ("errors", "warnings")})
    db.session.commit()
    remove_files(path)


@app_periodic_task(crontab(minute="*/5"))
def sweep_imports() -> dict:
    """Every 5 minutes: imports whose worker died are marked failed, previews nobody confirmed
    expire; the files of both are removed."""
    from .uploads import expire_previews, fail_dead_imports

    return {"failed": fail_dead_imports(), "expired": expire_previews()}
