"""The status of an assignment and of a case, computed from progress and awards, never typed.

One definition for every reader: the village list, the learner's home, the export and the roll-ups
all build on the SQL conditions below, so a status cannot mean one thing on a page and another in
the province figures.
"""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, literal, or_, select

from lms.followup.models import Assignment, Deferral


class Status(enum.Enum):
    not_started = "not_started"
    in_progress = "in_progress"
    completed = "completed"
    skill_obtained = "skill_obtained"
    overdue = "overdue"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    Status.not_started: _l("Not started"),
    Status.in_progress: _l("In progress"),
    Status.completed: _l("Completed"),
    Status.skill_obtained: _l("Skill obtained"),
    Status.overdue: _l("Overdue"),
}


def today() -> dt.date:
    """Due and review dates are the officials' calendar days (Asia/Shanghai), not UTC's."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _member_users():
    from lms.accounts.models import User

    # Correlated explicitly: these subqueries sit two levels below the assignments' SELECT, where
    # SQLAlchemy's auto-correlation does not reach.
    return select(User.id).where(User.member_id == Assignment.member_id).correlate(Assignment)


def completed_condition():
    """The course is complete (every required lesson and the quiz) or the class attended and passed."""
    from courses.models import Enrolment
    from lms.skills.models import Trainee

    course_done = exists(select(Enrolment.id).where(
        Enrolment.course_id == Assignment.course_id, Enrolment.user_id.in_(_member_users()),
        Enrolment.completed_at.is_not(None)).correlate(Assignment))
    class_done = exists(select(Trainee.id).where(
        Trainee.class_id == Assignment.offline_class_id, Trainee.member_id == Assignment.member_id,
        Trainee.passed.is_(True)).correlate(Assignment))
    return or_(and_(Assignment.course_id.is_not(None), course_done),
               and_(Assignment.offline_class_id.is_not(None), class_done))


def skill_held_condition():
    """The laborer holds the measure's skill, from whatever source (a certificate import counts).

    Written as the measure's join (not ``skill_id = coalesce(subquery, subquery)``): PostgreSQL
    turned that form into an anti-join probing the awards by skill (a hundred thousand a skill in a
    province) instead of by member."""
    from courses.models import Course
    from lms.skills.models import OfflineClass, SkillAward

    def held(measure, measure_id):
        return exists(select(SkillAward.id).join(measure, measure.skill_id == SkillAward.skill_id).where(
            measure.id == measure_id, SkillAward.member_id == Assignment.member_id,
            SkillAward.revoked_at.is_(None)).correlate(Assignment))

    return or_(and_(Assignment.course_id.is_not(None), held(Course, Assignment.course_id)),
               and_(Assignment.offline_class_id.is_not(None), held(OfflineClass, Assignment.offline_class_id)))


def started_condition():
    """Some progress: a lesson played or finished, or a class session attended."""
    from courses.models import Lesson
    from lms.learning.models import Progress
    from lms.skills.models import Attendance, ClassSession, Trainee

    played = exists(select(Progress.id).join(Lesson, Lesson.id == Progress.lesson_id).where(
        Lesson.course_id == Assignment.course_id, Progress.user_id.in_(_member_users()),
        or_(Progress.watched_seconds > 0, Progress.completed_at.is_not(None))).correlate(Assignment))
    attended = exists(select(Attendance.session_id).join(Trainee, Trainee.id == Attendance.trainee_id)
                      .join(ClassSession, ClassSession.id == Attendance.session_id).where(
        ClassSession.class_id == Assignment.offline_class_id, Trainee.member_id == Assignment.member_id,
        Attendance.present.is_(True)).correlate(Assignment))
    return or_(and_(Assignment.course_id.is_not(None), played),
               and_(Assignment.offline_class_id.is_not(None), attended))


def overdue_condition(day: dt.date):
    """Past its due date and neither complete nor answered by the skill."""
    return and_(Assignment.due_on < day, ~completed_condition(), ~skill_held_condition())


def _flag(condition):
    return case((condition, literal(1)), else_=literal(0))


def status_columns():
    """Columns to select beside an Assignment: (completed, skill held, started) as 0/1."""
    return (_flag(completed_condition()).label("done"), _flag(skill_held_condition()).label("held"),
            _flag(started_condition()).label("started"))


def status_of(due_on: dt.date, done: int, held: int, started: int, case_closed: bool, day: dt.date) -> Status:
    """已取得技能 first (it closes the case), then 已完成, 逾期, 学习中, 未开始."""
    if held or case_closed:
        return Status.skill_obtained
    if done:
        return Status.completed
    if due_on < day:
        return Status.overdue
    return Status.in_progress if started else Status.not_started


def case_states(in_batch, day: dt.date | None = None) -> dict[int, tuple[str, int]]:
    """The roll-ups' hook: for laborers of the households matched by ``in_batch`` (a condition on
    ``Household``), (state, week). State 'deferred' (暂缓 until a review date not yet passed), else
    'overdue' (some assignment overdue) or 'assigned' (some assignment); week: how many of their
    assignments became overdue in the last 7 days (due in [day−7, day−1]) and still are, for the
    weekly summary (0 when deferred). Members with no assignment and no deferral are absent."""
    from lms.extensions import db
    from lms.households.models import Household, Member

    day = day or today()
    overdue = overdue_condition(day)
    # The week's check (its subqueries again) runs only for the assignments due in the window.
    this_week = case((Assignment.due_on < day - dt.timedelta(days=7), literal(0)), else_=_flag(overdue))
    states: dict[int, tuple[str, int]] = {}
    for member_id, late, week in db.session.execute(
            select(Assignment.member_id, func.max(_flag(overdue)), func.sum(this_week))
            .join(Member, Member.id == Assignment.member_id).join(Household, Household.id == Member.household_id)
            .where(in_batch).group_by(Assignment.member_id)):
        states[member_id] = ("overdue", int(week or 0)) if late else ("assigned", 0)
    for member_id in db.session.scalars(
            select(Deferral.member_id).join(Member, Member.id == Deferral.member_id)
            .join(Household, Household.id == Member.household_id).where(in_batch, Deferral.review_on >= day)):
        states[member_id] = ("deferred", 0)
    return states
