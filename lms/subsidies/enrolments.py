"""The 职业教育 strand's evidence: a school's enrolment list (学校, 专业, 学籍号, 学期) imported per term.
Read like the registry's import (CSV in its encodings or XLSX, rows numbered as the official sees
them, the same report keys and exit codes)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from flask_babel import gettext
from sqlalchemy import select

from lms.extensions import db
from lms.subsidies.accounts import Issue
from lms.subsidies.models import Enrolment


def N_(msgid: str) -> str:
    return msgid


HEADERS = {
    "id_number": ("证件号码", "身份证号", "身份证号码", "公民身份号码", "身份证件号码"),
    "school": ("学校", "就读学校", "学校名称"),
    "major": ("专业", "所学专业"),
    "student_no": ("学籍号", "学号"),
    "term": ("学期",),
}
REQUIRED = ("id_number", "school", "term")
MESSAGES = {
    "bad_term": N_("“%(value)s” is not a term: write 2026-1 (spring) or 2026-2 (autumn)."),
    "duplicate_in_file": N_("This student already appears for this term earlier in the file (row %(row)s)."),
    "too_long": N_("Too long: at most %(limit)s characters."),
}
_LAYOUT = None


def _layout():
    from lms.spreadsheets.sheet import Layout

    global _LAYOUT
    if _LAYOUT is None:
        _LAYOUT = Layout(HEADERS, REQUIRED)
    return _LAYOUT


def parse_term(text: str) -> str | None:
    """'2026-1', '2026-2', '2026年春季', '2026年秋季学期' → '2026-1' / '2026-2'."""
    from lms.spreadsheets.text import normalize

    text = normalize(text or "")
    match = re.fullmatch(r"(\d{4})-([12])", text)
    if match:
        return f"{match.group(1)}-{match.group(2)}"
    match = re.fullmatch(r"(\d{4})年?(春|秋)季?(学期)?", text)
    if match:
        return f"{match.group(1)}-{'1' if match.group(2) == '春' else '2'}"
    return None


@dataclass
class EnrolmentReport:
    rows: int = 0
    enrolments_created: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    format: str | None = None
    encoding: str | None = None
    header_row: int | None = None
    dry_run: bool = False
    unusable: bool = False

    @property
    def exit_code(self) -> int:
        return 2 if self.unusable else (1 if self.rejected else 0)

    def as_dict(self) -> dict:
        def issue(i: Issue) -> dict:
            text = gettext(MESSAGES[i.code], **i.params) if i.code in MESSAGES else i.as_dict()["message"]
            return {"row": i.row, "column": i.column, "code": i.code, "message": text}

        return {"rows": self.rows, "enrolments_created": self.enrolments_created, "unchanged": self.unchanged,
                "rejected": self.rejected, "warnings": [issue(i) for i in sorted(self.warnings)],
                "errors": [issue(i) for i in sorted(self.errors)], "error_count": len(self.errors),
                "warning_count": len(self.warnings), "unknown_columns": self.unknown_columns,
                "format": self.format, "encoding": self.encoding, "header_row": self.header_row,
                "dry_run": self.dry_run, "exit_code": self.exit_code}


def import_enrolments(path: str | os.PathLike, *, filename: str | None = None, dry_run: bool = False,
                      actor=None) -> EnrolmentReport:
    """One row per student and term; the caller commits (or rolls back a dry run)."""
    from lms.households.idnumbers import IdError, parse_id
    from lms.households.queries import member_by_id_number
    from lms.spreadsheets.sheet import SheetError, open_sheet
    from lms.spreadsheets.text import clean_cell
    from lms.regions.scope import write_prefix
    from lms.subsidies.rules import period_range

    scope = write_prefix(actor)
    report = EnrolmentReport(dry_run=dry_run)
    try:
        sheet = open_sheet(path, filename, _layout())
    except SheetError as exc:
        report.unusable = True
        report.errors.append(Issue(0, "", exc.code, exc.params))
        return report
    report.format, report.encoding, report.header_row = sheet.format, sheet.encoding, sheet.header_row
    report.unknown_columns = sheet.unknown_columns
    cols = sheet.mapping

    def column(name: str) -> str:
        return sheet.headers[cols[name]] if name in cols else HEADERS[name][0]

    seen: dict[tuple[int, str], int] = {}
    try:
        for number, cells in sheet.rows():
            report.rows += 1

            def cell(name: str) -> str:
                i = cols.get(name)
                return clean_cell(cells[i]) if i is not None and i < len(cells) else ""

            errors = [Issue(number, column(name), "required") for name in REQUIRED if not cell(name)]
            member = None
            if cell("id_number"):
                try:
                    parse_id(cell("id_number"))
                except IdError as exc:
                    errors.append(Issue(number, column("id_number"), exc.code, exc.params))
                else:
                    member = member_by_id_number(cell("id_number"))
                    if member is None or member.removed_at is not None:
                        errors.append(Issue(number, column("id_number"), "unknown_person"))
                        member = None
                    elif not member.household.village_code.startswith(scope):
                        errors.append(Issue(number, column("id_number"), "out_of_scope"))
                        member = None
            term = parse_term(cell("term")) if cell("term") else None
            if cell("term") and term is None:
                errors.append(Issue(number, column("term"), "bad_term", {"value": cell("term")}))
            for name, limit in (("school", 100), ("major", 100), ("student_no", 40)):
                if len(cell(name)) > limit:
                    errors.append(Issue(number, column(name), "too_long", {"limit": limit}))
            if member is not None and term and not errors:
                key = (member.id, term)
                if key in seen:
                    errors.append(Issue(number, column("id_number"), "duplicate_in_file", {"row": seen[key]}))
                seen.setdefault(key, number)
            if errors:
                report.rejected += 1
                report.errors.extend(errors)
                continue
            existing = db.session.scalar(select(Enrolment).where(Enrolment.member_id == member.id,
                                                                 Enrolment.term == term))
            if existing is not None:
                existing.school, existing.major, existing.student_no = cell("school"), cell("major"), cell("student_no")
                report.unchanged += 1
                continue
            db.session.add(Enrolment(member_id=member.id, school=cell("school"), major=cell("major"),
                                     student_no=cell("student_no"), term=term,
                                     enrolled_on=period_range(term, "term")[0]))
            report.enrolments_created += 1
        db.session.flush()
    except SheetError as exc:
        report.unusable = True
        report.errors.append(Issue(0, "", exc.code, exc.params))
    return report
