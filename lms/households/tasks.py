"""Queue jobs of the registry: a large import runs here, with progress."""
from __future__ import annotations

import os

from lms.queue import app_task


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


def _scope_of(user) -> str:
    """The region prefix an uploader may import into ("" for an admin)."""
    from lms.regions.scope import region_prefix

    prefix = region_prefix(user)
    # None means no region at all: no village code starts with "-", so every row is refused.
    return "-" if prefix is None else prefix


@app_task(retries=0)
def run_import(import_id: int) -> None:
    """Run an uploaded import; the report lands on the import record."""
    from lms.audit import record
    from lms.db import utcnow
    from lms.extensions import db
    from .models import HouseholdImport
    from .services import import_households

    rec = db.session.get(HouseholdImport, import_id)
    if rec is None or rec.status != "queued" or not rec.stored_path:
        return
    rec.status = "running"
    rec.rows_total = estimate_rows(rec.stored_path)
    db.session.commit()
    path, user = rec.stored_path, rec.user

    def progress(rows: int) -> None:
        with open(progress_path(path), "w", encoding="ascii") as fh:
            fh.write(str(rows))

    try:
        report = import_households(path, filename=rec.filename, user=user, record=rec,
                                   dry_run=rec.dry_run, strict=rec.strict,
                                   create_regions=rec.create_regions,
                                   scope=_scope_of(user), progress=progress)
    except Exception:
        db.session.rollback()
        failed = db.session.get(HouseholdImport, import_id)
        failed.status, failed.finished_at = "failed", utcnow()
        db.session.commit()
        raise
    if not report.changes_kept:
        db.session.rollback()
        rec = db.session.get(HouseholdImport, import_id)
    data = report.as_dict()
    rec.status, rec.report, rec.exit_code = "done", data, report.exit_code
    rec.rows_done, rec.finished_at, rec.stored_path = report.rows, utcnow(), None
    record(rec.user, "households.import", rec, {
        k: v for k, v in data.items() if k not in ("errors", "warnings")})
    for leftover in (path, progress_path(path)):
        if os.path.exists(leftover):
            os.remove(leftover)
