"""Loading the division table. Services flush; the caller commits."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from flask_babel import gettext as _

from lms.extensions import db
from lms.regions.models import LEVEL_DIGITS, Region


@dataclass
class RegionImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)

    def error(self, row: int, column: str, code: str, message: str) -> None:
        self.errors.append({"row": row, "column": column, "code": code, "message": message})

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "warnings": [],
            "errors": self.errors,
        }


class UnusableFile(ValueError):
    """The file cannot be read at all; nothing was imported."""


REQUIRED_COLUMNS = ("code", "name", "level", "parent_code")


def validate_region_code(code: str, level: int) -> str | None:
    """The message for a malformed code at ``level``, or None when it is well-formed."""
    if len(code) != 12 or not code.isdigit():
        return _("A region code has exactly 12 digits; got “%(code)s”.", code=code)
    if code[LEVEL_DIGITS[level]:].strip("0"):
        return _("Code %(code)s has digits beyond its level (%(level)s).", code=code, level=level)
    return None


def import_regions(text: str) -> RegionImportReport:
    """Import a UTF-8 CSV with header ``code,name,level,parent_code``; idempotent.

    Parents must come before their children or already exist; a bad row changes nothing and is
    reported with its spreadsheet row number (header = row 1).
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise UnusableFile(_("Missing columns: %(columns)s.", columns=", ".join(missing)))
    report = RegionImportReport()
    known = {code: level for code, level in db.session.execute(db.select(Region.code, Region.level))}
    for row_number, row in enumerate(reader, start=2):
        report.rows += 1
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        code, name, parent_code = row["code"], row["name"], row["parent_code"] or None
        try:
            level = int(row["level"])
            if level not in LEVEL_DIGITS:
                raise ValueError
        except ValueError:
            report.rejected += 1
            report.error(row_number, "level", "bad_level", _("Level must be a number from 1 to 5."))
            continue
        problem = validate_region_code(code, level)
        if problem:
            report.rejected += 1
            report.error(row_number, "code", "bad_code", problem)
            continue
        if not name:
            report.rejected += 1
            report.error(row_number, "name", "missing_name", _("The name is empty."))
            continue
        if level == 1:
            parent_code = None
        elif parent_code not in known or known[parent_code] != level - 1:
            report.rejected += 1
            report.error(row_number, "parent_code", "unknown_parent",
                         _("Parent region %(code)s does not exist at the level above.", code=parent_code or "—"))
            continue
        elif not code.startswith(parent_code[: LEVEL_DIGITS[level - 1]]):
            report.rejected += 1
            report.error(row_number, "parent_code", "parent_mismatch",
                         _("Code %(code)s does not lie under its parent %(parent)s.", code=code, parent=parent_code))
            continue
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
    db.session.flush()
    return report
