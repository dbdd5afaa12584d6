"""The 职业教育 strand's evidence: a school's enrolment list (学校, 专业, 学籍号, 学期) imported per term.
Read like the registry's import (CSV in its encodings or XLSX, rows numbered as the official sees
them, the same report keys and exit codes)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import select

from lms.extensions import db
from lms.spreadsheets.report import ImportReport, Issue, Messages, N_
from lms.spreadsheets.sheet import Layout
from lms.subsidies.accounts import ACCOUNT_MESSAGES
from lms.subsidies.models import Enrolment

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
ENROLMENT_MESSAGES = Messages(MESSAGES, base=ACCOUNT_MESSAGES)
LAYOUT = Layout(HEADERS, REQUIRED)


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
class EnrolmentReport(ImportReport):
    COUNTS: ClassVar[tuple[str, ...]] = ("enrolments_created", "enrolments_changed")
    messages: ClassVar[Messages] = ENROLMENT_MESSAGES

    enrolments_created: int = 0
    enrolments_changed: int = 0  # the school's list again with a corrected 学校, 专业 or 学籍号


def import_enrolments(path: str | os.PathLike, *, filename: str | None = None, dry_run: bool = False,
                      actor=None) -> EnrolmentReport:
    """One row per student and term; the caller commits (or rolls back a dry run)."""
    from lms.households.queries import row_person
    from lms.regions.scope import write_prefix
    from lms.subsidies.rules import period_range

    scope = write_prefix(actor)
    report = EnrolmentReport(dry_run=dry_run)
    sheet = report.open(path, filename, LAYOUT)
    if sheet is None:
        return report
    column = sheet.header
    seen: dict[tuple[int, str], int] = {}
    for number, cell in report.read(sheet):
        member, errors = row_person(number, cell, column, scope, REQUIRED)
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
            report.reject(errors)
            continue
        existing = db.session.scalar(select(Enrolment).where(Enrolment.member_id == member.id,
                                                             Enrolment.term == term))
        if existing is not None:
            now = (cell("school"), cell("major"), cell("student_no"))
            if (existing.school, existing.major, existing.student_no) == now:
                report.unchanged += 1
            else:
                existing.school, existing.major, existing.student_no = now
                report.enrolments_changed += 1
            continue
        db.session.add(Enrolment(member_id=member.id, school=cell("school"), major=cell("major"),
                                 student_no=cell("student_no"), term=term,
                                 enrolled_on=period_range(term, "term")[0]))
        report.enrolments_created += 1
    db.session.flush()
    return report
