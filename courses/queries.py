"""Reads for the learner catalogue and trainer pages."""
from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select

from courses.models import Course, CourseRegion, Enrolment, Lesson, Skill
from lms.extensions import db


def offered_to(region_code: str | ColumnElement | None):
    """SQL condition: the course is offered where the learner lives (or everywhere). The region
    is a code, or a column (``users.region_code`` in the heartbeat's check)."""
    everywhere = ~exists().where(CourseRegion.course_id == Course.id)
    if region_code is None or isinstance(region_code, str) and not region_code:
        return everywhere
    value = literal(region_code) if isinstance(region_code, str) else region_code
    here = exists().where(and_(CourseRegion.course_id == Course.id, value.startswith(CourseRegion.prefix)))
    return or_(everywhere, here)


def open_condition(region_code: str | ColumnElement | None):
    """SQL condition, the one rule of who may open a course's lessons as a learner: the course is
    published and offered in the region. The catalogue, the lesson page and every heartbeat
    (lms.learning.access) decide with it."""
    return and_(Course.published.is_(True), offered_to(region_code))


def may_open(user, course: Course) -> bool:
    """The lesson page's rule: the course is open to the user, or it is a staff preview by
    someone who may edit it (unpublished or not offered in their region)."""
    from courses.services import may_edit

    return is_available(user, course) or (user.has_role("trainer", "admin") and may_edit(user, course))


def available_courses(user, skill_ids=None) -> list[Course]:
    stmt = select(Course).where(open_condition(getattr(user, "region_code", None)))
    if skill_ids is not None:
        stmt = stmt.where(Course.skill_id.in_(skill_ids))
    return list(db.session.scalars(stmt.order_by(Course.published_at.desc(), Course.id.desc())))


def is_available(user, course: Course) -> bool:
    return db.session.scalar(select(Course.id).where(
        Course.id == course.id, open_condition(getattr(user, "region_code", None)))) is not None


def courses_using_asset(asset_id: int) -> list[Course]:
    """Courses that show a media asset: in a lesson, a quiz prompt or as the cover."""
    from courses.models import Question, Quiz

    by_lesson = select(Lesson.course_id).where(Lesson.asset_id == asset_id)
    by_quiz = select(Quiz.course_id).join(Question, Question.quiz_id == Quiz.id).where(
        Question.audio_asset_id == asset_id)
    return list(db.session.scalars(select(Course).where(or_(
        Course.id.in_(by_lesson), Course.id.in_(by_quiz), Course.cover_asset_id == asset_id))))


def may_watch_asset(user, asset_id: int) -> bool:
    """Media's viewer check: the user may open a page of a course that shows the asset."""
    if not user.has_role("learner", "trainer", "admin"):
        return False
    return any(may_open(user, course) for course in courses_using_asset(asset_id))


def top_skills() -> list[Skill]:
    return list(db.session.scalars(select(Skill).where(Skill.parent_id.is_(None)).order_by(Skill.position)))


def skill_family(skill: Skill) -> list[int]:
    ids = [skill.id]
    ids += db.session.scalars(select(Skill.id).where(Skill.parent_id == skill.id))
    return ids


def courses_by_top_skill(user) -> list[tuple[Skill, list[Course]]]:
    courses = available_courses(user)
    groups: dict[int, list[Course]] = {}
    for course in courses:
        groups.setdefault(course.skill.top.id, []).append(course)
    return [(s, groups[s.id]) for s in top_skills() if s.id in groups]


def trainer_courses(user) -> list[Course]:
    stmt = select(Course).order_by(Course.updated_at.desc())
    if not user.has_role("admin"):
        from courses.models import course_trainers

        stmt = stmt.where(or_(Course.created_by_id == user.id, exists().where(and_(
            course_trainers.c.course_id == Course.id, course_trainers.c.user_id == user.id))))
    return list(db.session.scalars(stmt))


def enrolment_counts(course_ids) -> dict[int, tuple[int, int]]:
    if not course_ids:
        return {}
    rows = db.session.execute(select(
        Enrolment.course_id, func.count(), func.count(Enrolment.completed_at))
        .where(Enrolment.course_id.in_(course_ids)).group_by(Enrolment.course_id))
    return {cid: (n, done) for cid, n, done in rows}


def skill_groups() -> list[tuple[str, list[Skill]]]:
    """The skill catalogue for a menu: one group per top-level skill (种植, 养殖 …), that skill
    first and its finer skills under it, in catalogue order."""
    skills = list(db.session.scalars(select(Skill).order_by(Skill.position, Skill.id)))
    children: dict[int, list[Skill]] = {}
    for s in skills:
        if s.parent_id is not None:
            children.setdefault(s.parent_id, []).append(s)
    return [(top.name, [top, *children.get(top.id, [])]) for top in skills if top.parent_id is None]
