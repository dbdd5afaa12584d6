"""Reads: a learner's certificates and course status, trainers' progress tables."""
from __future__ import annotations

from sqlalchemy import select

from courses.models import Course, Enrolment
from lms.extensions import db
from lms.learning.models import Certificate, Progress


def certificates_of(user_id: int) -> list[Certificate]:
    return list(db.session.scalars(select(Certificate).where(Certificate.user_id == user_id)
                                   .order_by(Certificate.issued_at.desc())))


def certificate_for(user_id: int, course_id: int) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.user_id == user_id,
                                                       Certificate.course_id == course_id))


def enrolment(user_id: int, course_id: int) -> Enrolment | None:
    return db.session.scalar(select(Enrolment).where(Enrolment.user_id == user_id,
                                                     Enrolment.course_id == course_id))


def course_status(user_id: int, course_ids) -> dict[int, str]:
    if not course_ids:
        return {}
    rows = db.session.execute(select(Enrolment.course_id, Enrolment.completed_at).where(
        Enrolment.user_id == user_id, Enrolment.course_id.in_(list(course_ids))))
    return {cid: ("done" if done else "started") for cid, done in rows}


def course_progress_table(course: Course):
    """Per enrolled learner: the enrolment and each lesson's (coverage, completed)."""
    from lms.accounts.models import User

    lesson_ids = [ls.id for ls in course.lessons]
    rows = list(db.session.execute(select(User, Enrolment).join(Enrolment, Enrolment.user_id == User.id)
                                   .where(Enrolment.course_id == course.id).order_by(User.display_name)))
    progress: dict[tuple[int, int], Progress] = {}
    if rows and lesson_ids:
        for p in db.session.scalars(select(Progress).where(
                Progress.lesson_id.in_(lesson_ids), Progress.user_id.in_([u.id for u, _e in rows]))):
            progress[(p.user_id, p.lesson_id)] = p
    return [(user, enr, [progress.get((user.id, lid)) for lid in lesson_ids]) for user, enr in rows]
