"""Loading the division table through the shared spreadsheet import (lms.spreadsheets). Services
flush; the caller commits."""
from __future__ import annotations

import os
from dataclasses import dataclass

from lms.extensions import db
from lms.regions.models import LEVEL_DIGITS, Region
from lms.spreadsheets.report import SHEET, ImportReport, Issue, Messages, N_
from lms.spreadsheets.sheet import Layout, Sheet, SheetError, open_sheet, read_text
from lms.spreadsheets.text import clean_cell


# The table's columns, by their English headers (header = row 1 in the files the app ships).
REQUIRED_COLUMNS = ("code", "name", "level", "parent_code")
LAYOUT = Layout({name: (name,) for name in REQUIRED_COLUMNS}, REQUIRED_COLUMNS)
REGION_MESSAGES = Messages({
    "no_header": N_("No header row found: the first row must name the columns code, name, level, parent_code."),
    "bad_level": N_("Level must be a number from 1 to 5."),
    "bad_code": N_("A region code has exactly 12 digits; got “%(code)s”."),
    "missing_name": N_("The name is empty."),
    "unknown_parent": N_("Parent region %(code)s does not exist at the level above."),
    "parent_mismatch": N_("Code %(code)s does not lie under its parent %(parent)s."),
}, variants={("bad_code", "level"): N_("Code %(code)s has digits beyond its level (%(level)s).")}, base=SHEET)


@dataclass
class RegionImportReport(ImportReport):
    COUNTS = ("created", "updated")
    messages = REGION_MESSAGES

    created: int = 0
    updated: int = 0


def region_code_problem(code: str, level: int) -> dict | None:
    """The params of a "bad_code" issue for a malformed code at ``level``, or None when it is
    well-formed."""
    if len(code) != 12 or not code.isdigit():
        return {"code": code}
    if code[LEVEL_DIGITS[level]:].strip("0"):
        return {"code": code, "level": level}
    return None


def import_regions(text: str) -> RegionImportReport:
    """Import a CSV table (as text) with the header ``code,name,level,parent_code``; idempotent."""
    try:
        sheet = read_text(text, LAYOUT)
    except SheetError as exc:
        report = RegionImportReport()
        report.file_unusable(exc.code, exc.params)
        return report
    return _import(sheet)


def import_regions_file(path: str | os.PathLike) -> RegionImportReport:
    """Import a spreadsheet (CSV in UTF-8/GBK/GB18030, or XLSX) with the columns code, name,
    level, parent_code; idempotent."""
    try:
        sheet = open_sheet(path, None, LAYOUT)
    except SheetError as exc:
        report = RegionImportReport()
        report.file_unusable(exc.code, exc.params)
        return report
    return _import(sheet)


def _import(sheet: Sheet) -> RegionImportReport:
    """Parents must come before their children or already exist; a bad row changes nothing and is
    reported with its spreadsheet row number."""
    report = RegionImportReport()
    report.opened(sheet)
    cols = sheet.mapping
    known = {code: level for code, level in db.session.execute(db.select(Region.code, Region.level))}
    try:
        for row_number, cells in sheet.rows():
            report.rows += 1
            row = {name: clean_cell(cells[i]) if i < len(cells) else "" for name, i in cols.items()}
            issue = _check(row, row_number, known)
            if issue is not None:
                report.reject([issue])
                continue
            code, name, level, parent_code = row["code"], row["name"], int(row["level"]), row["parent_code"] or None
            if level == 1:
                parent_code = None
            existing = db.session.get(Region, code)
            if existing is None:
                db.session.add(Region(code=code, name=name, level=level, parent_code=parent_code))
                report.created += 1
            elif (existing.name, existing.level, existing.parent_code) != (name, level, parent_code):
                existing.name, existing.level, existing.parent_code = name, level, parent_code
                report.updated += 1
            else:
                report.unchanged += 1
            known[code] = level
    except SheetError as exc:  # e.g. undecodable bytes half-way through
        report.file_unusable(exc.code, exc.params)
        return report
    db.session.flush()
    return report


def _check(row: dict, number: int, known: dict[str, int]) -> Issue | None:
    """The first problem of a row, or None."""
    code, parent_code = row["code"], row["parent_code"] or None
    try:
        level = int(row["level"])
        if level not in LEVEL_DIGITS:
            raise ValueError
    except ValueError:
        return Issue(number, "level", "bad_level")
    problem = region_code_problem(code, level)
    if problem:
        return Issue(number, "code", "bad_code", problem)
    if not row["name"]:
        return Issue(number, "name", "missing_name")
    if level == 1:
        return None
    if parent_code not in known or known[parent_code] != level - 1:
        return Issue(number, "parent_code", "unknown_parent", {"code": parent_code or "—"})
    if not code.startswith(parent_code[: LEVEL_DIGITS[level - 1]]):
        return Issue(number, "parent_code", "parent_mismatch", {"code": code, "parent": parent_code})
    return None
