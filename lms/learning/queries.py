"""Reads: a learner's certificates and course status, trainers' progress tables."""
from __future__ import annotations

from dataclasses import dataclass

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


@dataclass
class NextStep:
    """What an enrolled learner still has to do before the course's certificate."""

    remaining: list  # required lessons not yet complete, in course order
    quiz_left: bool  # the course has a quiz the learner has not passed
    lesson: object | None  # where 继续学习 leads: the next unfinished lesson, if any
    done: int  # steps done (required lessons complete, the quiz if passed)
    total: int  # steps in all

    @property
    def share(self) -> float:
        return self.done / self.total if self.total else 0.0


def next_step(course: Course, done_ids: set[int], last_lesson_id: int | None, quiz_ok: bool) -> NextStep:
    """The course page's "还差 …" line and its 继续学习 button, and the home page's bar, from the
    learner's completed lessons (``done_ids``), the lesson they were last in and whether they
    passed the quiz.

    The button goes back to the lesson the learner was last in when it is still unfinished (a
    half-watched video), else to the first unfinished required lesson, else to the first
    unfinished optional one."""
    has_quiz = course.quiz is not None and bool(course.quiz.questions)
    required = [ls for ls in course.lessons if ls.required]
    remaining = [ls for ls in required if ls.id not in done_ids]
    unfinished = [ls for ls in course.lessons if ls.id not in done_ids]
    lesson = next((ls for ls in unfinished if ls.id == last_lesson_id), None)
    lesson = lesson or (remaining[0] if remaining else (unfinished[0] if unfinished else None))
    total = len(required) + (1 if has_quiz else 0)
    done = len(required) - len(remaining) + (1 if has_quiz and quiz_ok else 0)
    return NextStep(remaining, has_quiz and not quiz_ok, lesson, done, total)


def courses_in_progress(user, limit: int = 20) -> list[tuple[Course, NextStep]]:
    """The learner's unfinished courses still open to them, the most recently active first, each
    with its next step (the home page's progress bars). A fixed number of statements whatever the
    number of courses."""
    from sqlalchemy.orm import selectinload

    from courses.models import Lesson, Quiz
    from courses.queries import open_condition
    from lms.learning.models import QuizAttempt

    user_id = user.id
    rows = list(db.session.execute(
        select(Course, Enrolment.last_lesson_id).join(Enrolment, Enrolment.course_id == Course.id)
        .where(Enrolment.user_id == user_id, Enrolment.completed_at.is_(None),
               open_condition(getattr(user, "region_code", None)))
        .order_by(Enrolment.last_active_at.desc().nulls_last(), Enrolment.id.desc()).limit(limit)
        .options(selectinload(Course.lessons), selectinload(Course.quiz))))
    if not rows:
        return []
    course_ids = [c.id for c, _l in rows]
    done_ids = set(db.session.scalars(
        select(Progress.lesson_id).join(Lesson, Lesson.id == Progress.lesson_id)
        .where(Progress.user_id == user_id, Lesson.course_id.in_(course_ids), Progress.completed_at.is_not(None))))
    passed = set(db.session.scalars(
        select(Quiz.course_id).join(QuizAttempt, QuizAttempt.quiz_id == Quiz.id)
        .where(QuizAttempt.user_id == user_id, QuizAttempt.passed.is_(True), Quiz.course_id.in_(course_ids))))
    return [(c, next_step(c, done_ids, last, c.id in passed)) for c, last in rows]


# Closer than this to the end, a lesson reopens at the start: there is nothing left to watch.
RESUME_END_MARGIN = 3.0


def resume_position(row: Progress | None, duration: float | None) -> float:
    """Where the lesson's player starts: the last position saved by a heartbeat, unless it is at
    the very start or the very end."""
    position = float(row.position or 0.0) if row is not None else 0.0
    if position < 1 or (duration and position >= duration - RESUME_END_MARGIN):
        return 0.0
    return position
