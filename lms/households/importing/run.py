"""One household import, end to end: ``import_households`` opens the file, runs
the validated chunks (``pipeline.py``) through the writer (``writer.py``) and
returns the report (``report.py``); it runs a second time when a household's
rows turn out not to be together.  Called by the CLI, the web import job and
the synthetic-data commands; the caller commits or rolls back.
"""
from __future__ import annotations

import gc
import os
from collections.abc import Callable

from flask import current_app
from sqlalchemy import select

from lms.db import utcnow
from lms.extensions import db
from lms.spreadsheets.sheet import SheetError

from ..models import HouseholdImport
from ..spreadsheet import open_sheet
from ..validation import RegionIndex, RowValidator
from .pipeline import (COLLECT_EVERY, HelperProcess, SplitFound, collector_paused,
                       households_split_in, placed_anew, read_chunks, reject_split)
from .report import ImportReport
from .writer import ChunkWriter


def import_households(path: str | os.PathLike, *, filename: str | None = None,
                      user=None, record: HouseholdImport | None = None, dry_run: bool = False,
                      strict: bool = False, create_regions: bool = False, scope: str = "",
                      progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import a member export (CSV or XLSX).  Writes through the session; the
    caller commits when ``report.changes_kept`` and rolls back otherwise.

    ``scope`` is the importing official's region prefix: rows of villages
    outside it are rejected.

    A household is imported whole or not at all, also when its rows are not all
    together in the file: then every part of it is rejected (``household_split``
    on the first row of each part, ``household_rejected`` on the others) and
    nothing of it is written.  The import first runs hoping no household is split,
    noting a hash of each household number it passes (memory: some 70 bytes a
    household).  On meeting one again it goes back to a savepoint taken at the
    start and runs once more, knowing from a quick first pass over the household
    numbers which ones are split."""
    from lms.crypto import rotation_pending

    if rotation_pending():  # stored numbers under an old key would not be recognised: duplicates
        report = ImportReport(dry_run=dry_run, strict=strict)
        report.file_unusable("data_key_rotating")
        return report
    options = dict(filename=filename, user=user, record=record, dry_run=dry_run,
                   strict=strict, create_regions=create_regions, scope=scope,
                   progress=progress)
    connection = db.session.connection()
    connection.exec_driver_sql("SAVEPOINT households_import")
    created_regions: list = []
    try:
        return _import(path, split=None, created_regions=created_regions, **options)
    except SplitFound:
        connection.exec_driver_sql("ROLLBACK TO SAVEPOINT households_import")
        for region in created_regions:  # gone from the database: from the session too
            db.session.expunge(region)
        try:
            split = households_split_in(open_sheet(path, filename))
        except SheetError as exc:
            report = ImportReport(dry_run=dry_run, strict=strict)
            report.file_unusable(exc.code, exc.params)
            return report
        return _import(path, split=split, created_regions=[], **options)


def _import(path, *, split: set[str] | None, created_regions: list, filename, user, record,
            dry_run, strict, create_regions, scope, progress) -> ImportReport:
    """One run of the import; ``split`` is None while no household is known to
    be split (then SplitFound when one turns out to be)."""
    from lms.regions.models import Region

    report = ImportReport(dry_run=dry_run, strict=strict)
    try:
        sheet = open_sheet(path, filename)
    except SheetError as exc:
        report.file_unusable(exc.code, exc.params)
        return report
    report.opened(sheet)
    regions = RegionIndex(db.session.execute(
        select(Region.code, Region.name, Region.level, Region.parent_code)))
    validator = RowValidator(sheet.mapping, sheet.headers, regions,
                             default_year=utcnow().year, create_regions=create_regions,
                             scope=scope)
    writer = ChunkWriter(report, record.id if record else None, getattr(user, "id", None),
                         regions, validator.column, created_regions, scope)
    changed_villages: set[str] = set()
    chunks = read_chunks(path, sheet, validator, current_app.config["DATA_KEY"], writer.stamp,
                         watch=split is None)
    try:
        household_column = validator.column("household_no")
        with collector_paused():
            for count, (chunk, rows) in enumerate(chunks, 1):
                if count % COLLECT_EVERY == 0:
                    gc.collect(1)
                if split:
                    checked = reject_split(chunk, split, household_column)
                    if checked is not chunk:  # fewer households accepted: new places
                        chunk, rows = checked, placed_anew(checked, rows)
                report.rows += len(chunk.numbers)
                report.add_errors(chunk.errors)
                report.add_warnings(chunk.warnings)
                writer.write(chunk, rows)
                changed_villages.update(h.values[0] for h in chunk.households if not h.rejected)
                if progress is not None:
                    progress(report.rows)
    except SheetError as exc:  # e.g. undecodable bytes half-way through
        report.file_unusable(exc.code, exc.params)
        return report
    finally:
        if isinstance(chunks, HelperProcess):
            chunks.close()
    if record is not None:
        record.rows_total = report.rows
    if changed_villages:
        from ..signals import registry_changed

        registry_changed.send(None, village_codes=changed_villages)
    return report

