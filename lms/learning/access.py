"""Progress only where learning is allowed.

A heartbeat counts only for a lesson its learner may open, by the lesson page's own rule
(``courses.queries.open_condition``: published and offered in the learner's region; staff
previews by ``courses.queries.may_open``). It is checked on every heartbeat, with no cache, on
the Flask path and the fast path alike: unpublishing or withdrawing a course from a region
refuses the very next heartbeat in every process.
"""
from __future__ import annotations

from sqlalchemy import bindparam, literal_column, select

_STATEMENT = None
_SQLITE_SQL: str | None = None
_POSTGRES_SQL: str | None = None


def _statement():
    global _STATEMENT
    if _STATEMENT is None:
        from courses.models import Course, Lesson
        from courses.queries import open_condition
        from lms.accounts.models import User

        _STATEMENT = (select(literal_column("1")).select_from(Lesson)
                      .join(Course, Course.id == Lesson.course_id)
                      .join(User, User.id == bindparam("user_id"))
                      .where(Lesson.id == bindparam("lesson_id"), open_condition(User.region_code)))
    return _STATEMENT


def sqlite_sql() -> str:
    """Compiled once with named parameters (``:user_id``, ``:lesson_id``), for the fast path's bare
    driver connection (lms.learning.store.SqliteFastStore reads it inside its own statement)."""
    global _SQLITE_SQL
    if _SQLITE_SQL is None:
        from sqlalchemy.dialects import sqlite

        _SQLITE_SQL = str(_statement().compile(dialect=sqlite.dialect(paramstyle="named")))
    return _SQLITE_SQL


def postgres_sql() -> str:
    """The statement in psycopg's ``%(user_id)s``/``%(lesson_id)s`` form, for the PostgreSQL fast
    path, which reads it inside its own statement (lms.learning.store.PgFastStore)."""
    global _POSTGRES_SQL
    if _POSTGRES_SQL is None:
        from sqlalchemy.dialects import postgresql

        _POSTGRES_SQL = str(_statement().compile(dialect=postgresql.psycopg.dialect(paramstyle="pyformat")))
    return _POSTGRES_SQL


def lesson_open(user_id: int, lesson_id: int, dbapi=None) -> bool:
    """Whether the learner may open the lesson now (one statement; on ``dbapi``, a bare SQLite
    driver connection, when given)."""
    params = {"user_id": user_id, "lesson_id": lesson_id}
    if dbapi is not None:
        return dbapi.execute(sqlite_sql(), params).fetchone() is not None
    from lms.extensions import db

    return db.session.connection().execute(_statement(), params).first() is not None


def may_record(user_id: int, lesson_id: int, course_id: int, dbapi=None) -> bool:
    """A heartbeat may be recorded: the lesson is open to the learner, or it is a staff preview."""
    if lesson_open(user_id, lesson_id, dbapi):
        return True
    from courses.models import Course
    from courses.queries import may_open
    from lms.accounts.models import User
    from lms.extensions import db

    user, course = db.session.get(User, user_id), db.session.get(Course, course_id)
    return user is not None and course is not None and user.has_role("trainer", "admin") and may_open(user, course)
