"""Factories for skill-goal tests: registry members written directly (the import has its own tests)."""
from __future__ import annotations

import itertools

from lms.extensions import db

_serial = itertools.count(1)


def id_number(birth_ymd: int, area: str = "621123", male: bool = True) -> str:
    from lms.households.idnumbers import check_character

    seq = next(_serial) % 499
    body = f"{area}{birth_ymd:08d}{2 * seq + (1 if male else 2):03d}"
    return body + check_character(body)


def make_household(village: str = "621123100201", year: int = 2024, htype: str = "1", status: str = "0",
                   cause: str = "07", number: str | None = None):
    from lms.households import categories as cat
    from lms.households.models import Household

    household = Household(household_no=number or f"{village}{next(_serial):05d}", village_code=village, year=year,
                          household_type=cat.HouseholdType(htype), poverty_status=cat.PovertyStatus(status),
                          main_cause=cat.Cause(cause), phone="13912345678")
    db.session.add(household)
    db.session.flush()
    return household


def make_member(household, birth_ymd: int = 19800601, labour: str = "1", student: str | None = None,
                relation: str = "01", name: str = "张三", number: str | None = None, phone: str | None = None):
    from lms.households import categories as cat
    from lms.households.models import Member
    from lms.households.services import cipher

    number = number or id_number(birth_ymd)
    member = Member(household_id=household.id, id_enc=cipher().encrypt(number), id_hash=cipher().digest(number),
                    name=name, sex=cat.Sex.MALE, birth_ymd=birth_ymd, doc_type=cat.DocType.RESIDENT_ID,
                    relation=cat.Relation(relation), labour_skill=cat.LabourSkill(labour),
                    student_status=cat.StudentStatus(student) if student else None, phone=phone)
    db.session.add(member)
    db.session.flush()
    member.plain_id = number
    # What the registry import's signal and the refresh job do for a new member.
    from lms.stats.rollups import refresh_villages

    refresh_villages([household.village_code])
    return member


def make_skill(code: str = "potato", name: str = "马铃薯种植"):
    from courses.models import Skill, SkillCategory

    skill = Skill(code=code, name=name, category=SkillCategory.agriculture)
    db.session.add(skill)
    db.session.flush()
    return skill


def award(member, skill, day: str = "2024-05-10", **kwargs):
    import datetime as dt

    from lms.skills.models import Evidence, Source
    from lms.skills.services import award_skill

    kwargs.setdefault("evidence", Evidence.training_certificate)
    kwargs.setdefault("source", Source.certificate_import)
    return award_skill(skill_id=skill.id, member=member, awarded_on=dt.date.fromisoformat(day), **kwargs)
