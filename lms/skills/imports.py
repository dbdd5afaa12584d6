"""``flask skills import-certificates``: skill certificates from a spreadsheet.

The file is read by the registry's own reader (CSV in UTF-8/GBK/GB18030, or XLSX, header row
found), rows are numbered as the official sees them, and the report and exit codes follow the
household import: 0 every row imported, 1 some rows rejected (the rest imported), 2 the file is
unusable and nothing was imported.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import select

from lms.extensions import db
from lms.households.messages import HOUSEHOLD_MESSAGES
from lms.skills.models import EVIDENCE_LABELS, SKILL_LEVELS, Evidence, SkillAward, Source
from lms.spreadsheets.report import ImportReport, Issue, Messages, N_
from lms.spreadsheets.sheet import Layout
from lms.spreadsheets.text import normalize

HEADERS = {
    "id_number": ("证件号码", "身份证号", "身份证号码", "公民身份号码", "身份证件号码"),
    "name": ("姓名",),
    "skill": ("技能", "技能名称", "技能代码", "职业(工种)", "职业（工种）", "工种"),
    "certificate_type": ("证书类型", "证书种类"),
    "level": ("等级", "证书等级", "技能等级"),
    "certificate_number": ("证书编号", "证书号码", "证书号"),
    "issued_on": ("发证日期", "发证时间", "取证日期"),
    "issuer": ("发证机构", "发证单位", "颁发机构"),
    "programme": ("培训项目", "项目名称", "培训计划"),
}
REQUIRED = ("id_number", "skill", "certificate_type", "certificate_number", "issued_on")
MESSAGES = {
    "required": N_("This value is required."),
    "unknown_person": N_("No registered member has this ID number."),
    "unknown_skill": N_("“%(value)s” is not a skill of the catalogue (give its name or code)."),
    "unknown_certificate_type": N_("“%(value)s” is not a certificate type: use 培训合格证书, 专项职业能力证书, "
                                   "职业技能等级证书 or 职业资格证书."),
    "unknown_level": N_("“%(value)s” is not a level: use 初级, 中级, 高级, 技师 or 高级技师."),
    "bad_date": N_("“%(value)s” is not a date (write it as 2024-05-31)."),
    "future_date": N_("The issue date %(value)s is in the future."),
    "duplicate_certificate": N_("Certificate number %(value)s is already recorded for another person or skill."),
    "duplicate_in_file": N_("Certificate number %(value)s appears more than once in the file (first in row %(row)s)."),
    "too_long": N_("Too long: at most %(limit)s characters."),
    "unknown_programme": N_("“%(value)s” is not a training programme (give its name, for example 雨露计划)."),
}
CERTIFICATE_TYPES = {label: evidence for evidence, label in EVIDENCE_LABELS.items()
                     if evidence in (Evidence.training_certificate, Evidence.special_ability,
                                     Evidence.skill_level, Evidence.qualification)}
CERTIFICATE_TYPES.update({"培训证书": Evidence.training_certificate, "结业证书": Evidence.training_certificate,
                          "专项能力证书": Evidence.special_ability, "技能等级证书": Evidence.skill_level,
                          "资格证书": Evidence.qualification})
# The codes of the ID number checks, the file and the region scope are the registry's.
CERTIFICATE_MESSAGES = Messages(MESSAGES, base=HOUSEHOLD_MESSAGES)
LAYOUT = Layout(HEADERS, REQUIRED)


@dataclass
class CertificateReport(ImportReport):
    COUNTS = ("awards_created",)
    messages = CERTIFICATE_MESSAGES

    awards_created: int = 0


def _parse_date(text: str) -> dt.date | None:
    text = text.strip().replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").rstrip("日")
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        year, month, day = (int(p) for p in text.split("-"))
        return dt.date(year, month, day)
    except ValueError:
        return None


def _skill_index() -> dict[str, int]:
    from courses.models import Skill

    index = {}
    for skill_id, code, name in db.session.execute(select(Skill.id, Skill.code, Skill.name)):
        index[normalize(name)] = skill_id
        index[normalize(code).lower()] = skill_id
    return index


def _programme_index() -> dict[str, int]:
    from courses.models import Programme

    index = {}
    for programme_id, code, name in db.session.execute(select(Programme.id, Programme.code, Programme.name)):
        index[normalize(name)] = programme_id
        index[normalize(code)] = programme_id
    return index


class NotAllowed(PermissionError):
    """The account may not import certificates; ``str()`` is for the person running the import."""


def check_importer(actor) -> None:
    """Certificates are imported by an admin or an official of a county or a larger region
    (``actor`` None: the server's operator at the command line)."""
    from lms.regions.models import LEVEL_DIGITS
    from lms.regions.scope import region_prefix

    if actor is None or actor.has_role("admin"):
        return
    prefix = region_prefix(actor)
    if not actor.has_role("official") or prefix is None or len(prefix) > LEVEL_DIGITS[3]:
        raise NotAllowed(gettext("Only an administrator or a county (or higher) official may import "
                                 "certificates."))


def import_certificates(path: str | os.PathLike, *, filename: str | None = None, dry_run: bool = False,
                        actor=None) -> CertificateReport:
    """Validate and import every row; the caller commits unless it is a dry run (then rolls back).

    ``actor`` (see ``check_importer``) imports only for people registered in their region: a row
    of anyone else is rejected with a message that names nothing there."""
    from lms.regions.scope import write_prefix

    check_importer(actor)
    scope = write_prefix(actor)
    from lms.households.queries import row_person
    from lms.skills.services import _today, award_skill

    report = CertificateReport(dry_run=dry_run)
    sheet = report.open(path, filename, LAYOUT)
    if sheet is None:
        return report
    column = sheet.header
    skills = _skill_index()
    programmes = _programme_index()
    today = _today()
    seen_numbers: dict[str, int] = {}
    villages: set[str] = set()
    for number, cell in report.read(sheet):
        member, errors = row_person(number, cell, column, scope, REQUIRED)
        skill_id = evidence = issued = None
        level = None
        if cell("skill"):
            key = normalize(cell("skill"))
            skill_id = skills.get(key) or skills.get(key.lower())
            if skill_id is None:
                errors.append(Issue(number, column("skill"), "unknown_skill", {"value": cell("skill")}))
        if cell("certificate_type"):
            evidence = CERTIFICATE_TYPES.get(normalize(cell("certificate_type")))
            if evidence is None:
                errors.append(Issue(number, column("certificate_type"), "unknown_certificate_type",
                                    {"value": cell("certificate_type")}))
        if cell("level"):
            level = normalize(cell("level")).removesuffix("工")
            if level not in SKILL_LEVELS:
                errors.append(Issue(number, column("level"), "unknown_level", {"value": cell("level")}))
        if cell("issued_on"):
            issued = _parse_date(cell("issued_on"))
            if issued is None:
                errors.append(Issue(number, column("issued_on"), "bad_date", {"value": cell("issued_on")}))
            elif issued > today:
                errors.append(Issue(number, column("issued_on"), "future_date", {"value": issued.isoformat()}))
        programme_id = None
        if cell("programme"):
            programme_id = programmes.get(normalize(cell("programme")))
            if programme_id is None:
                errors.append(Issue(number, column("programme"), "unknown_programme",
                                    {"value": cell("programme")}))
        cert_no = normalize(cell("certificate_number"))
        if len(cert_no) > 64:
            errors.append(Issue(number, column("certificate_number"), "too_long", {"limit": 64}))
        if len(cell("issuer")) > 100:
            errors.append(Issue(number, column("issuer"), "too_long", {"limit": 100}))
        if cert_no and cert_no in seen_numbers:
            errors.append(Issue(number, column("certificate_number"), "duplicate_in_file",
                                {"value": cert_no, "row": seen_numbers[cert_no]}))
        elif cert_no:
            seen_numbers[cert_no] = number
        existing = None
        if cert_no and not errors:
            existing = db.session.execute(select(SkillAward.member_id, SkillAward.skill_id).where(
                SkillAward.certificate_number == cert_no)).first()
            if existing is not None and tuple(existing) != (member.id, skill_id):
                errors.append(Issue(number, column("certificate_number"), "duplicate_certificate",
                                    {"value": cert_no}))
        if errors:
            report.reject(errors)
            continue
        if existing is not None:
            report.unchanged += 1
            continue
        award_skill(skill_id=skill_id, evidence=evidence, source=Source.certificate_import, member=member,
                    awarded_on=issued, level=level, certificate_number=cert_no, issuer=cell("issuer"),
                    actor=actor, refresh=False, programme_id=programme_id)
        villages.add(member.household.village_code)
        report.awards_created += 1
    if report.unusable:
        return report
    if not dry_run and villages:
        from lms.skills.signals import awards_changed

        awards_changed.send(None, village_codes=villages)
    return report
