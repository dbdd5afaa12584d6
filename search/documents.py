"""Course → the plain document the indexer takes (the only place search reads courses)."""
from __future__ import annotations

import re
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms.extensions import db

_VTT_TIMING = re.compile(r"^\s*(\d{1,2}:)?\d{2}:\d{2}[.,]\d{3}\s*-->")
_VTT_TAG = re.compile(r"<[^>]+>")


def caption_text(vtt: str | None) -> str:
    """The spoken words of a WebVTT file: no header, cue numbers, timings, notes or tags."""
    if not vtt:
        return ""
    words = []
    skip_block = False
    for line in vtt.splitlines():
        stripped = line.strip()
        if not stripped:
            skip_block = False
            continue
        if skip_block:
            continue
        if stripped.startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            skip_block = True
            continue
        if _VTT_TIMING.match(stripped) or stripped.isdigit():
            continue
        words.append(_VTT_TAG.sub("", stripped))
    return " ".join(words)


def course_document(course) -> dict:
    skill = course.skill
    parent = skill.parent if skill is not None else None
    return {
        "id": course.id,
        "title": course.title,
        "summary": course.summary or "",
        "skill": " ".join(s.name for s in (skill, parent) if s is not None),
        "skill_code": [s.code for s in (skill, parent) if s is not None],
        "skill_category": skill.category.value if skill is not None else "",
        "programme": course.programme.code if course.programme else "",
        "programme_name": course.programme.name if course.programme else "",
        "trainers": [t.display_name or t.username for t in course.trainers],
        "lessons": [{"title": ls.title, "body": ls.body or "", "captions": caption_text(ls.captions)}
                    for ls in course.lessons],
        # Region prefixes (significant digits): a learner's village code starting with one is
        # inside it. None → offered everywhere.
        "regions": sorted({r.prefix for r in course.regions}),
    }


def _loaded():
    from courses.models import Course, Skill

    return select(Course).options(
        selectinload(Course.lessons), selectinload(Course.skill).selectinload(Skill.parent),
        selectinload(Course.programme), selectinload(Course.trainers), selectinload(Course.regions))


def published_documents(batch: int = 500) -> Iterator[dict]:
    """Every published course as a document, loaded in batches (a rebuild's source)."""
    from courses.models import Course

    last = 0
    while True:
        rows = list(db.session.scalars(_loaded().where(Course.published.is_(True), Course.id > last)
                                       .order_by(Course.id).limit(batch)))
        if not rows:
            return
        for course in rows:
            yield course_document(course)
        last = rows[-1].id
        db.session.expunge_all()


def published_document(course_id: int) -> dict | None:
    """The document of one course, or None if it is gone or unpublished."""
    from courses.models import Course

    course = db.session.scalar(_loaded().where(Course.id == course_id))
    if course is None or not course.published:
        return None
    return course_document(course)
