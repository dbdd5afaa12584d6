"""Deleting a course or an offline class deletes its assignments (the follow-up's table declares
``ON DELETE CASCADE`` on both): the case figures of the roll-ups move in the same flush.

The cascade is this area's own: the courses and skills areas below know nothing of assignments, so
they cannot announce it. This area listens instead to the ORM's flush — the lower layers' signal that
rows are going — and, around every flush that deletes a course or a class with assignments, counts
the assignees' households before and after through the roll-ups' ``tracking`` halves
(``count_before`` / ``apply_after``: a flush cannot flush again, the rest is the same function the
assignment path uses). Any delete path through the session is covered, today's and tomorrow's.

Do not delete a course inside a ``tracking`` block over the same households: both would add the
difference. A bulk ``DELETE`` statement bypasses the ORM's flush (as it bypasses every ORM event): use
``db.session.delete`` for courses and classes, or run ``flask stats rebuild`` after one.
Members and households are never deleted (removal is a mark, ``lms.households.services``, which
moves the roll-ups itself); their foreign keys refuse a delete while assignments point at them.
"""
from __future__ import annotations

from sqlalchemy import event, or_, select

_KEY = "followup.cascade"


def _deleted_measures(session) -> tuple[list[int], list[int]]:
    from courses.models import Course
    from lms.skills.models import OfflineClass

    courses, classes = [], []
    for obj in session.deleted:
        if isinstance(obj, Course) and obj.id is not None:
            courses.append(obj.id)
        elif isinstance(obj, OfflineClass) and obj.id is not None:
            classes.append(obj.id)
    return courses, classes


def before_flush(session, _context, _instances) -> None:
    session.info.pop(_KEY, None)
    if not session.deleted:
        return
    courses, classes = _deleted_measures(session)
    if not (courses or classes):
        return
    from lms.followup.models import Assignment
    from lms.households.models import Household, Member
    from lms.stats.rollups import count_before

    rows = session.execute(
        select(Member.household_id, Household.village_code).distinct().select_from(Assignment)
        .join(Member, Member.id == Assignment.member_id).join(Household, Household.id == Member.household_id)
        .where(or_(Assignment.course_id.in_(courses), Assignment.offline_class_id.in_(classes)))).all()
    if rows:
        session.info[_KEY] = count_before([h for h, _v in rows], [v for _h, v in rows])


def after_flush(session, _context) -> None:
    counted = session.info.pop(_KEY, None)
    if counted is not None:
        from lms.stats.rollups import apply_after

        apply_after(counted)


def after_rollback(session) -> None:
    session.info.pop(_KEY, None)


def listen(session) -> None:
    """Connect the receivers to ``session`` (``db.session``: every session it makes), once."""
    for name, fn in (("before_flush", before_flush), ("after_flush", after_flush),
                     ("after_rollback", after_rollback)):
        if not event.contains(session, name, fn):
            event.listen(session, name, fn)
