"""Who qualifies for a strand in a period (DOMAIN.md §6): the evidence the rule asks for, in the
township, in the period; then, per person, the rule valid at the date of the result, its age range
at that date and the household's current category. One statement per evidence kind."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from lms.extensions import db
from lms.subsidies.models import Rule
from lms.subsidies.rules import rule_on

CERTIFICATE_EVIDENCE = ("training_certificate", "special_ability", "skill_level", "qualification")


@dataclass(frozen=True)
class Candidate:
    member_id: int
    household_id: int
    village_code: str
    birth_ymd: int
    category: str | None
    removed: bool
    ref: str
    title: str
    certificate_number: str
    result_on: dt.date
    programme_id: int | None = None

    @property
    def evidence(self) -> str:
        """The rule's evidence kind this is ('certificate', 'completion', 'class', 'enrolment')."""
        return EVIDENCE_OF_REF[self.ref.split(":", 1)[0]]


# A candidate's reference names the table it came from, and so the kind of evidence it is.
EVIDENCE_OF_REF = {"award": "certificate", "certificate": "completion", "trainee": "class", "enrolment": "enrolment"}


def _shanghai_date(value: dt.datetime) -> dt.date:
    from zoneinfo import ZoneInfo

    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(ZoneInfo("Asia/Shanghai")).date()


def township_members(prefix: str) -> list[int]:
    """The ids of the members registered in the region (index: households by village, members by
    household)."""
    from lms.households.models import Household, Member

    return list(db.session.scalars(select(Member.id).join(Household, Household.id == Member.household_id)
                                   .where(in_region(Household.village_code, prefix)).order_by(Member.id)))


CHUNK = 5000


def candidates(evidence: str, prefix: str, start: dt.date, end: dt.date, programme_ids: set[int | None],
               period: str, member_ids: list[int] | None = None) -> list[Candidate]:
    """Every piece of evidence of the kind in the region (code prefix) between ``start`` and ``end``
    (inclusive), of one of the programmes. The evidence is looked up by the region's members, 5,000
    at a time, through each evidence table's member index: a county's awards are never scanned once
    per township."""
    ids = township_members(prefix) if member_ids is None else list(member_ids)
    out: list[Candidate] = []
    for start_at in range(0, len(ids), CHUNK):
        out += _candidates(evidence, prefix, start, end, programme_ids, period, ids[start_at:start_at + CHUNK])
    return out


def _candidates(evidence: str, prefix: str, start: dt.date, end: dt.date, programme_ids: set[int | None],
                period: str, member_ids: list[int]) -> list[Candidate]:
    from lms.households.models import Household, Member

    person = (Member.id, Member.household_id, Household.village_code, Member.birth_ymd,
              Household.poverty_status, Member.removed_at)
    # The ids are the region's members: no range on the households as well (SQLite would then try
    # every id of the list against every household of the range).
    where: list = []
    programmes = [p for p in programme_ids if p is not None]
    if evidence == "certificate":
        from courses.models import Course, Skill
        from lms.skills.models import OfflineClass, SkillAward

        programme = func.coalesce(SkillAward.programme_id, Course.programme_id, OfflineClass.programme_id)
        # What the certificate is for: its course or class, else (an imported certificate) its skill.
        title = func.coalesce(Course.title, OfflineClass.title, Skill.name)
        stmt = (select(*person, SkillAward.id, SkillAward.awarded_on, SkillAward.certificate_number, title,
                       programme)
                .select_from(SkillAward).join(Member, Member.id == SkillAward.member_id)
                .join(Skill, Skill.id == SkillAward.skill_id)
                .join(Household, Household.id == Member.household_id)
                .outerjoin(Course, Course.id == SkillAward.course_id)
                .outerjoin(OfflineClass, OfflineClass.id == SkillAward.offline_class_id)
                .where(*where, SkillAward.member_id.in_(member_ids), SkillAward.revoked_at.is_(None), SkillAward.awarded_on.between(start, end),
                       SkillAward.evidence.in_(CERTIFICATE_EVIDENCE), programme.in_(programmes)))
        return [Candidate(r[0], r[1], r[2], r[3], _code(r[4]), r[5] is not None, f"award:{r[6]}",
                          r[9] or "", r[8] or "", r[7], r[10]) for r in db.session.execute(stmt)]
    if evidence == "completion":
        from courses.models import Course
        from lms.accounts.models import User
        from lms.learning.models import Certificate

        lo = dt.datetime.combine(start - dt.timedelta(days=1), dt.time(), dt.timezone.utc)
        hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.max, dt.timezone.utc)
        stmt = (select(*person, Certificate.id, Certificate.issued_at, Certificate.number, Certificate.course_title,
                       Course.programme_id)
                .select_from(Certificate).join(User, User.id == Certificate.user_id)
                .join(Member, Member.id == User.member_id).join(Household, Household.id == Member.household_id)
                .join(Course, Course.id == Certificate.course_id)
                .where(*where, User.member_id.in_(member_ids), Course.programme_id.in_(programmes),
                       Certificate.issued_at.between(lo, hi)))
        out = []
        for r in db.session.execute(stmt):
            day = _shanghai_date(r[7])
            if start <= day <= end:
                out.append(Candidate(r[0], r[1], r[2], r[3], _code(r[4]), r[5] is not None, f"certificate:{r[6]}",
                                     r[9] or "", r[8] or "", day, r[10]))
        return out
    if evidence == "class":
        from lms.skills.models import OfflineClass, Trainee

        stmt = (select(*person, Trainee.id, OfflineClass.ends_on, OfflineClass.title, OfflineClass.programme_id)
                .select_from(Trainee).join(OfflineClass, OfflineClass.id == Trainee.class_id)
                .join(Member, Member.id == Trainee.member_id).join(Household, Household.id == Member.household_id)
                .where(*where, Trainee.member_id.in_(member_ids), Trainee.passed.is_(True), OfflineClass.programme_id.in_(programmes),
                       OfflineClass.ends_on.between(start, end)))
        return [Candidate(r[0], r[1], r[2], r[3], _code(r[4]), r[5] is not None, f"trainee:{r[6]}", r[8] or "",
                          "", r[7], r[9]) for r in db.session.execute(stmt)]
    if evidence == "enrolment":
        from lms.subsidies.models import Enrolment

        stmt = (select(*person, Enrolment.id, Enrolment.enrolled_on, Enrolment.school, Enrolment.major,
                       Enrolment.student_no)
                .select_from(Enrolment).join(Member, Member.id == Enrolment.member_id)
                .join(Household, Household.id == Member.household_id)
                .where(*where, Enrolment.member_id.in_(member_ids), Enrolment.term == period))
        return [Candidate(r[0], r[1], r[2], r[3], _code(r[4]), r[5] is not None, f"enrolment:{r[6]}",
                          f"{r[8]} {r[9]}".strip(), r[10] or "", r[7]) for r in db.session.execute(stmt)]
    raise ValueError(evidence)


def in_region(column, prefix: str):
    """``column`` (a 12-digit code) under ``prefix``, as a range both databases answer from an index
    (a LIKE with an escape character is a scan on SQLite)."""
    width = 12 - len(prefix)
    return column.between(prefix + "0" * width, prefix + "9" * width)


def _code(value) -> str | None:
    return None if value is None else getattr(value, "value", value)


def age_on(birth_ymd: int, day: dt.date) -> int:
    return (day.year * 10000 + day.month * 100 + day.day - birth_ymd) // 10000


def check(candidate: Candidate, rules: list[Rule]) -> tuple[Rule | None, str | None]:
    """(the rule, None) when the person qualifies on this evidence, else (None, why): 'removed',
    'no_rule', 'age' or 'category'."""
    if candidate.removed:
        return None, "removed"
    rule = rule_on(rules, candidate.result_on)
    # The rule valid on the day of the result asks for one kind of evidence, of its programme: a
    # certificate does not qualify under a version that asks for a completed course, and so on.
    if rule is None or rule.evidence != candidate.evidence or (
            rule.programme_id is not None and rule.evidence != "enrolment" and rule.programme_id != candidate.programme_id):
        return None, "no_rule"
    if not rule.min_age <= age_on(candidate.birth_ymd, candidate.result_on) <= rule.max_age:
        return None, "age"
    if candidate.category not in rule.categories.split(","):
        return None, "category"
    return rule, None


def still_valid(refs: list[str]) -> set[str]:
    """Which evidence references still stand, the check before approval: a revoked award does not, nor
    a class assessment changed to a fail. A course certificate and an enrolment are never withdrawn."""
    from lms.skills.models import SkillAward, Trainee

    ids = {"award": [], "trainee": []}
    valid = set()
    for ref in refs:
        kind, _sep, number = ref.partition(":")
        if kind in ids:
            ids[kind].append(int(number))
        else:
            valid.add(ref)
    standing = {"award": lambda chunk: select(SkillAward.id).where(SkillAward.id.in_(chunk), SkillAward.revoked_at.is_(None)),
                "trainee": lambda chunk: select(Trainee.id).where(Trainee.id.in_(chunk), Trainee.passed.is_(True))}
    for kind, numbers in ids.items():
        for start in range(0, len(numbers), CHUNK):
            valid |= {f"{kind}:{i}" for i in db.session.scalars(standing[kind](numbers[start:start + CHUNK]))}
    return valid
