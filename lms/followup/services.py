"""Assigning training, deferring (暂缓) and ending a deferral. Services flush, never commit; each
change is audited, checked against the actor's region through ``lms.regions.scope`` and moves the
skill-goal roll-ups in the same transaction (``lms.stats.rollups.tracking``)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from lms.audit import record
from lms.extensions import db
from lms.followup.models import Assignment, Deferral, DeferralReason, RollupDay
from lms.followup.status import today
from lms.regions.scope import code_in_scope

# Why one laborer was not assigned: the code is the CLI's, the message the page's.
REFUSALS = {
    "unknown_member": _l("No such registered member."),
    "out_of_scope": _l("This person is not registered in your region."),
    "removed": _l("This person has been removed from the registry."),
    "not_laborer": _l("This person is not a laborer (劳动力) under the current rule."),
    "not_offered": _l("The course or class is not offered in this person's village."),
    "already_assigned": _l("This course or class is already assigned to this person."),
}


class FollowupError(ValueError):
    """Bad input for the whole request (a due date in the past, no course chosen); for the person."""


@dataclass
class AssignResult:
    created: list[Assignment] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (member id, refusal code)

    def as_json(self) -> dict:
        return {"created": len(self.created), "skipped": [{"member": m, "reason": r} for m, r in self.skipped]}


def _measure(course_id: int | None, class_id: int | None):
    from courses.models import Course
    from lms.skills.models import OfflineClass

    if bool(course_id) == bool(class_id):
        raise FollowupError(_("Choose one course or one offline class."))
    measure = db.session.get(Course, course_id) if course_id else db.session.get(OfflineClass, class_id)
    if measure is None:
        raise FollowupError(_("That course or class does not exist."))
    return measure


def _offered(measure, village: str) -> bool:
    """A course open to a learner of the village (the catalogue's rule); a class held in a region
    that contains the village and not yet over."""
    from courses.models import Course
    from courses.queries import open_condition

    if isinstance(measure, Course):
        return db.session.scalar(select(Course.id).where(Course.id == measure.id, open_condition(village))) is not None
    from lms.regions.models import Region

    region = db.session.get(Region, measure.region_code)
    return region is not None and village.startswith(region.prefix) and measure.ends_on >= today()


def _check_due(due_on: dt.date | None) -> dt.date:
    if due_on is None:
        raise FollowupError(_("Give a due date."))
    if due_on < today():
        raise FollowupError(_("The due date is in the past."))
    return due_on


def assign(actor, member_ids, *, due_on: dt.date | None, course_id: int | None = None,
           class_id: int | None = None, note: str = "") -> AssignResult:
    """Assign a course or a class to each laborer; each one refused is skipped with its reason and
    nothing is created for it. ``actor`` None is the server's operator (the CLI without --by)."""
    from lms.households.models import Household, Member
    from lms.households.queries import laborer_condition
    from lms.stats.rollups import tracking

    due_on = _check_due(due_on)
    measure = _measure(course_id, class_id)
    result = AssignResult()
    ids = list(dict.fromkeys(int(m) for m in member_ids))
    members = {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(ids)))} if ids else {}
    laborer_ids = set(db.session.scalars(select(Member.id).join(Household, Household.id == Member.household_id)
                                         .where(Member.id.in_(ids), laborer_condition()))) if ids else set()
    column = Assignment.course_id if course_id else Assignment.offline_class_id
    taken = set(db.session.scalars(select(Assignment.member_id).where(
        column == measure.id, Assignment.member_id.in_(ids)))) if ids else set()
    chosen = []
    for member_id in ids:
        member = members.get(member_id)
        code = None
        if member is None:
            code = "unknown_member"
        elif actor is not None and not code_in_scope(actor, member.household.village_code):
            code = "out_of_scope"
        elif member.removed_at is not None:
            code = "removed"
        elif member_id not in laborer_ids:
            code = "not_laborer"
        elif not _offered(measure, member.household.village_code):
            code = "not_offered"
        elif member_id in taken:
            code = "already_assigned"
        if code:
            result.skipped.append((member_id, code))
        else:
            chosen.append(member)
    with tracking([m.household_id for m in chosen], [m.household.village_code for m in chosen]):
        for member in chosen:
            assignment = Assignment(member_id=member.id, village_code=member.household.village_code,
                                    course_id=course_id or None, offline_class_id=class_id or None, due_on=due_on,
                                    note=(note or "").strip()[:200], assigned_by_id=getattr(actor, "id", None))
            try:
                # A savepoint: another official's identical assignment committed since our check
                # fails only this row, and the unique constraint decides who was first.
                with db.session.begin_nested():
                    db.session.add(assignment)
                    db.session.flush()
            except IntegrityError:
                result.skipped.append((member.id, "already_assigned"))
                continue
            record(actor, "followup.assign", assignment, {
                "member": member.id, "course": course_id, "class": class_id, "due": due_on.isoformat()})
            result.created.append(assignment)
    return result


def cancel(actor, assignment: Assignment) -> None:
    """Withdraw an assignment made by mistake (the audit log keeps it)."""
    from lms.regions.scope import require_in_scope
    from lms.stats.rollups import tracking

    require_in_scope(actor, assignment.village_code)
    member = assignment.member
    with tracking([member.household_id], [member.household.village_code]):
        record(actor, "followup.cancel", assignment, {"member": assignment.member_id, "course": assignment.course_id,
                                                      "class": assignment.offline_class_id,
                                                      "due": assignment.due_on.isoformat()})
        db.session.delete(assignment)


def _member_in_scope(actor, member_id: int):
    from lms.households.models import Member
    from lms.regions.scope import OutOfScope

    member = db.session.get(Member, member_id)
    if member is None or (actor is not None and not code_in_scope(actor, member.household.village_code)):
        raise OutOfScope()
    return member


def defer(actor, member_id: int, *, reason: str, reason_text: str = "", review_on: dt.date | None) -> Deferral:
    """Mark a laborer 暂缓 until the review date (replacing an earlier deferral)."""
    from lms.stats.rollups import tracking

    member = _member_in_scope(actor, member_id)
    if member.removed_at is not None:
        raise FollowupError(str(REFUSALS["removed"]))
    try:
        why = DeferralReason(reason)
    except ValueError:
        raise FollowupError(_("Choose a reason from the list.")) from None
    text = (reason_text or "").strip()
    if why is DeferralReason.other and not text:
        raise FollowupError(_("Write the reason when it is “other”."))
    if review_on is None:
        raise FollowupError(_("Give a review date."))
    if review_on < today():
        raise FollowupError(_("The review date is in the past."))
    with tracking([member.household_id], [member.household.village_code]):
        deferral = db.session.get(Deferral, member.id)
        if deferral is None:
            deferral = Deferral(member_id=member.id)
            db.session.add(deferral)
        deferral.village_code = member.household.village_code
        deferral.reason, deferral.reason_text, deferral.review_on = why, text[:500], review_on
        deferral.deferred_by_id = getattr(actor, "id", None)
        db.session.flush()
        record(actor, "followup.defer", f"Member:{member.id}",
               {"reason": why.value, "text": text[:500], "review": review_on.isoformat()})
    return deferral


def end_deferral(actor, member_id: int) -> None:
    """The laborer is back on the open list before the review date."""
    from lms.stats.rollups import tracking

    member = _member_in_scope(actor, member_id)
    deferral = db.session.get(Deferral, member.id)
    if deferral is None:
        raise FollowupError(_("This person is not deferred."))
    with tracking([member.household_id], [member.household.village_code]):
        db.session.delete(deferral)
        db.session.flush()
        record(actor, "followup.end_deferral", f"Member:{member.id}", {})


def advance_day(day: dt.date | None = None) -> int:
    """Bring the roll-ups to ``day`` (today): recount the villages where, since the last run, an
    assignment became overdue or left the weekly summary's 7 days, or a deferral's review date
    passed. Returns how many villages were recounted."""
    from lms.stats.rollups import refresh_villages

    day = day or today()
    clock = db.session.get(RollupDay, "rollups")
    if clock is not None and clock.day >= day:
        return 0
    due = select(Assignment.village_code).where(Assignment.due_on < day)
    review = select(Deferral.village_code).where(Deferral.review_on < day)
    if clock is not None:
        week = dt.timedelta(days=7)
        # Overdue from the day after the due date; in the week's summary for 7 days from then.
        due = due.where(or_(Assignment.due_on >= clock.day,
                            and_(Assignment.due_on >= clock.day - week, Assignment.due_on < day - week)))
        review = review.where(Deferral.review_on >= clock.day)
    codes = set(db.session.scalars(due.distinct())) | set(db.session.scalars(review.distinct()))
    changed = refresh_villages(codes)
    if clock is None:
        db.session.add(RollupDay(name="rollups", day=day))
    else:
        clock.day = day
    db.session.flush()
    return changed
