"""Awarding and revoking skills; offline classes. Services flush, never commit; every change an
official or trainer makes is audited and moves the skill-goal roll-ups in the same transaction."""
from __future__ import annotations

import datetime as dt
import re
from contextlib import ExitStack, contextmanager

from flask_babel import gettext as _
from sqlalchemy import func, select

from lms.audit import record
from lms.db import utcnow
from lms.errors import FieldError
from lms.extensions import db
from lms.regions.scope import require_in_scope
from lms.skills.models import (Attendance, ClassSession, Evidence, OfflineClass, SkillAward, Source, Trainee)
from lms.skills.signals import awards_changed, awards_changing


class SkillError(FieldError):
    """Bad input for an award or a class; the message is for the person who entered it, ``field``
    names the form field at fault."""


@contextmanager
def announcing(household_ids, village_codes):
    """``with announcing(households, villages): change awards`` — areas above (the roll-ups) hear
    of the change before and after it (``lms.skills.signals``)."""
    with ExitStack() as stack:
        for _receiver, manager in awards_changing.send(None, household_ids=list(household_ids),
                                                       village_codes=list(village_codes)):
            if manager is not None:
                stack.enter_context(manager)
        yield


def _today() -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _person(member=None, user=None):
    """(member, user, village code) of the person an award is for."""
    from lms.households.models import Member

    if member is None and user is not None and getattr(user, "member_id", None):
        member = db.session.get(Member, user.member_id)
    if member is not None:
        return member, user, member.household.village_code
    if user is None:
        raise SkillError(_("Choose who the skill is awarded to."))
    return None, user, user.region_code


def award_skill(*, skill_id: int, evidence: Evidence, source: Source, member=None, user=None,
                awarded_on: dt.date | None = None, level: str | None = None,
                certificate_number: str | None = None, issuer: str | None = None,
                course_id: int | None = None, offline_class_id: int | None = None, actor=None,
                refresh: bool = True, programme_id: int | None = None) -> SkillAward:
    """Record that a person masters a skill. The member's 劳动技能 becomes 技能劳动力 (recorded in the
    registry's history); the roll-ups move unless ``refresh`` is False (the caller refreshes)."""
    member, user, village = _person(member, user)
    require_in_scope(actor, village)
    awarded_on = awarded_on or _today()
    if awarded_on > _today():
        raise SkillError(_("The award date cannot be in the future."))
    number = (certificate_number or "").strip() or None
    if number and db.session.scalar(select(SkillAward.id).where(SkillAward.certificate_number == number)):
        raise SkillError(_("Certificate number %(number)s is already recorded.", number=number))
    if refresh and member is not None:
        with announcing([member.household_id], [village]):
            return _add_award(member, user, village, skill_id, evidence, source, awarded_on, level, number,
                              issuer, course_id, offline_class_id, actor, programme_id)
    award = _add_award(member, user, village, skill_id, evidence, source, awarded_on, level, number, issuer,
                       course_id, offline_class_id, actor, programme_id)
    if refresh and village:
        awards_changed.send(None, village_codes={village})
    return award


def _add_award(member, user, village, skill_id, evidence, source, awarded_on, level, number, issuer, course_id,
               offline_class_id, actor, programme_id=None) -> SkillAward:
    award = SkillAward(member_id=member.id if member else None, user_id=user.id if user else None,
                       region_code=village, skill_id=skill_id, evidence=evidence, level=level, source=source,
                       course_id=course_id, offline_class_id=offline_class_id, awarded_on=awarded_on,
                       certificate_number=number, issuer=(issuer or "").strip() or None,
                       awarded_by_id=getattr(actor, "id", None), programme_id=programme_id)
    db.session.add(award)
    db.session.flush()
    if member is not None:
        from lms.households.services import mark_skilled

        mark_skilled(member, actor)
    record(actor, "skills.award", award, {"skill": skill_id, "evidence": evidence.value, "source": source.value,
                                          "member": award.member_id, "user": award.user_id})
    return award


def revoke_award(award: SkillAward, reason: str, actor, refresh: bool = True) -> SkillAward:
    """Withdraw an award (a forged certificate, a sign-off by mistake): it stays, marked, and stops counting."""
    require_in_scope(actor, award.region_code)
    reason = (reason or "").strip()
    if not reason:
        raise SkillError(_("Give the reason for revoking this skill."))
    if award.revoked_at is not None:
        raise SkillError(_("This skill award is already revoked."))
    if award.member_id:
        from lms.households.models import Member

        member = db.session.get(Member, award.member_id)
        with announcing([member.household_id] if refresh else [], [member.household.village_code] if refresh else []):
            _withdraw(award, reason, actor)
    else:
        _withdraw(award, reason, actor)
        if refresh and award.region_code:
            awards_changed.send(None, village_codes={award.region_code})
    return award


def _withdraw(award: SkillAward, reason: str, actor) -> None:
    award.revoked_at, award.revoked_by_id, award.revoke_reason = utcnow(), getattr(actor, "id", None), reason[:200]
    db.session.flush()
    if award.member_id and not person_skill_count(member_id=award.member_id):
        from lms.households.services import unmark_skilled

        unmark_skilled(award.member_id, actor)
    record(actor, "skills.revoke", award, {"reason": reason[:200]})


def person_skill_count(member_id: int | None = None, user_id: int | None = None) -> int:
    """Distinct skills a person holds (duplicate awards of one skill count once)."""
    stmt = select(func.count(func.distinct(SkillAward.skill_id))).where(SkillAward.revoked_at.is_(None))
    stmt = stmt.where(SkillAward.member_id == member_id) if member_id else stmt.where(SkillAward.user_id == user_id)
    return db.session.scalar(stmt) or 0


def on_course_completed(sender, course_id: int, user_id: int, **_extra) -> None:
    """Completing a course awards its skill (evidence: course completion), once per course."""
    from lms.accounts.models import User
    from courses.models import Course

    course = db.session.get(Course, course_id)
    user = db.session.get(User, user_id)
    if course is None or user is None or course.skill_id is None:
        return
    if db.session.scalar(select(SkillAward.id).where(SkillAward.course_id == course_id,
                                                     SkillAward.user_id == user_id,
                                                     SkillAward.revoked_at.is_(None))):
        return
    award_skill(skill_id=course.skill_id, evidence=Evidence.course_completion, source=Source.course,
                user=user, course_id=course_id, actor=None)


# Offline classes -------------------------------------------------------------------------------

def create_class(*, title: str, skill_id: int, region_code: str, starts_on: dt.date, ends_on: dt.date,
                 trainer, programme_id: int | None = None, place: str = "", hours: float = 0) -> OfflineClass:
    require_in_scope(trainer, region_code)
    title = (title or "").strip()
    if not title:
        raise SkillError(_("Give the class a title."), "title")
    if ends_on < starts_on:
        raise SkillError(_("The class cannot end before it starts."), "ends_on")
    klass = OfflineClass(title=title[:200], skill_id=skill_id, programme_id=programme_id, place=(place or "")[:200],
                         region_code=region_code, starts_on=starts_on, ends_on=ends_on, hours=hours or 0,
                         trainer_id=trainer.id)
    db.session.add(klass)
    db.session.flush()
    record(trainer, "skills.class_create", klass, {"title": klass.title, "skill": skill_id})
    return klass


def _class_prefix(klass: OfflineClass) -> str:
    from lms.regions.models import Region

    region = db.session.get(Region, klass.region_code)
    return region.prefix if region is not None else klass.region_code


def add_trainees(klass: OfflineClass, id_numbers: list[str], actor) -> tuple[list[Trainee], list[str]]:
    """Put registry members on the roster by ID number; returns (added, numbers not found). Only
    members registered inside the class's region (and the actor's) can join: anyone else is
    among the numbers not found, so the roster says nothing of people elsewhere."""
    from lms.households.queries import member_by_id_number

    require_in_scope(actor, klass.region_code)
    prefix = _class_prefix(klass)
    added, unknown = [], []
    next_number = (db.session.scalar(select(func.max(Trainee.number)).where(Trainee.class_id == klass.id)) or 0) + 1
    present = set(db.session.scalars(select(Trainee.member_id).where(Trainee.class_id == klass.id)))
    for raw in id_numbers:
        raw = raw.strip()
        if not raw:
            continue
        member = member_by_id_number(raw)
        if member is None or not member.household.village_code.startswith(prefix):
            unknown.append(raw)
            continue
        if member.id in present:
            continue
        trainee = Trainee(class_id=klass.id, number=next_number, member_id=member.id)
        db.session.add(trainee)
        present.add(member.id)
        added.append(trainee)
        next_number += 1
    db.session.flush()
    if added:
        record(actor, "skills.roster_add", klass, {"trainees": [t.member_id for t in added]})
    return added, unknown


_RANGE = re.compile(r"^(\d+)\s*[-–~～至]\s*(\d+)$")


def parse_roster_numbers(text: str) -> set[int]:
    """'1, 3 5-8' → {1, 3, 5, 6, 7, 8}: numbers as read off a printed roster."""
    numbers: set[int] = set()
    for part in re.split(r"[,，、;；\s]+", text or ""):
        part = part.strip()
        if not part:
            continue
        match = _RANGE.match(part)
        if match:
            low, high = int(match.group(1)), int(match.group(2))
            if high < low or high - low > 1000:
                raise SkillError(_("“%(part)s” is not a valid range of roster numbers.", part=part))
            numbers.update(range(low, high + 1))
        elif part.isdigit():
            numbers.add(int(part))
        else:
            raise SkillError(_("“%(part)s” is not a roster number.", part=part))
    return numbers


def add_session(klass: OfflineClass, held_on: dt.date, hours: float, topic: str, actor) -> ClassSession:
    require_in_scope(actor, klass.region_code)
    session = ClassSession(class_id=klass.id, held_on=held_on, hours=hours or 0, topic=(topic or "")[:200])
    db.session.add(session)
    db.session.flush()
    record(actor, "skills.session_add", klass, {"session": session.id, "held_on": held_on.isoformat()})
    return session


def take_attendance(session: ClassSession, present_numbers: set[int], actor) -> int:
    """Mark trainees present by roster number (everyone else absent); returns how many are present."""
    require_in_scope(actor, session.offline_class.region_code)
    trainees = session.offline_class.trainees
    known = {t.number for t in trainees}
    unknown = sorted(present_numbers - known)
    if unknown:
        raise SkillError(_("No trainee has roster number %(numbers)s.", numbers=", ".join(map(str, unknown))))
    existing = {a.trainee_id: a for a in session.attendance}
    for t in trainees:
        row = existing.get(t.id)
        if row is None:
            row = Attendance(session_id=session.id, trainee_id=t.id)
            db.session.add(row)
            session.attendance.append(row)
        row.present = t.number in present_numbers
    db.session.flush()
    record(actor, "skills.attendance", session.offline_class,
           {"session": session.id, "present": sorted(present_numbers)})
    return len(present_numbers)


def assess(trainee: Trainee, passed: bool, actor, note: str = "", photo_path: str | None = None,
           refresh: bool = True) -> Trainee:
    """Record a practical assessment; a pass awards the class's skill (evidence: trainer sign-off)."""
    klass = trainee.offline_class
    require_in_scope(actor, klass.region_code)
    # The whole assessment inside one announcement: the result itself moves figures too (an assigned
    # class passed is no longer overdue), not only the award.
    member = trainee.member
    with announcing([member.household_id] if refresh else [], [member.household.village_code] if refresh else []):
        trainee.passed, trainee.assessed_at, trainee.assessed_by_id = passed, utcnow(), actor.id
        trainee.note = (note or "").strip() or trainee.note
        if photo_path:
            trainee.photo_path = photo_path
        if passed and (trainee.award is None or trainee.award.revoked_at is not None):
            trainee.award = award_skill(skill_id=klass.skill_id, evidence=Evidence.trainer_signoff,
                                        source=Source.offline_class, member=member, offline_class_id=klass.id,
                                        awarded_on=min(_today(), klass.ends_on), actor=actor, refresh=False)
        elif not passed and trainee.award is not None and trainee.award.revoked_at is None:
            revoke_award(trainee.award, _("Assessment changed to fail"), actor, refresh=False)
        db.session.flush()
    record(actor, "skills.assess", klass, {"trainee": trainee.id, "passed": passed})
    return trainee


def bulk_sign_off(klass: OfflineClass, passed_numbers: set[int], actor) -> int:
    """Sign off every listed roster number as passed in one go; returns how many were signed off."""
    require_in_scope(actor, klass.region_code)
    by_number = {t.number: t for t in klass.trainees}
    unknown = sorted(passed_numbers - set(by_number))
    if unknown:
        raise SkillError(_("No trainee has roster number %(numbers)s.", numbers=", ".join(map(str, unknown))))
    chosen = [by_number[n] for n in sorted(passed_numbers)]
    with announcing([t.member.household_id for t in chosen], [t.member.household.village_code for t in chosen]):
        for trainee in chosen:
            assess(trainee, True, actor, refresh=False)
    return len(passed_numbers)
