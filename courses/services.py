"""Catalogue seeding and trainer authoring. Services flush; the caller commits."""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from courses import catalogue
from courses.models import (Course, CourseRegion, Lesson, LessonKind, Programme, Question, Quiz, Skill,
                            SkillCategory)
from courses.playback import may_use, playback
from courses.signals import course_published, course_unpublished
from lms.audit import record
from lms.db import utcnow
from lms.errors import FieldError
from lms.extensions import db
from lms.settings import get_setting


class CourseError(FieldError):
    """Bad authoring input; the message is for the trainer, ``field`` names the form field at fault."""


def seed_catalogue() -> tuple[int, int]:
    """Insert the seed programmes and skills that are missing; returns how many were added."""
    added_p = added_s = 0
    for code, name, description in catalogue.PROGRAMMES:
        if db.session.scalar(select(Programme.id).where(Programme.code == code)) is None:
            db.session.add(Programme(code=code, name=name, description=description, active=True))
            added_p += 1
    db.session.flush()
    for pos, (code, name, category, icon, finer) in enumerate(catalogue.SKILLS):
        top = db.session.scalar(select(Skill).where(Skill.code == code))
        if top is None:
            top = Skill(code=code, name=name, category=SkillCategory(category), icon=icon, position=pos)
            db.session.add(top)
            db.session.flush()
            added_s += 1
        for sub_pos, (sub_code, sub_name) in enumerate(finer):
            if db.session.scalar(select(Skill.id).where(Skill.code == sub_code)) is None:
                db.session.add(Skill(code=sub_code, name=sub_name, category=top.category, icon=icon,
                                     parent_id=top.id, position=sub_pos))
                added_s += 1
    db.session.flush()
    return added_p, added_s


def find_programme(value) -> Programme | None:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return db.session.get(Programme, int(value))
    return db.session.scalar(select(Programme).where((Programme.code == value) | (Programme.name == value)))


def find_skill(value) -> Skill | None:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return db.session.get(Skill, int(value))
    return db.session.scalar(select(Skill).where((Skill.code == value) | (Skill.name == value)))


def _check_regions(codes) -> list:
    from lms.regions.models import Region

    regions = []
    for code in sorted({c.strip() for c in codes if c and c.strip()}):
        region = db.session.get(Region, code)
        if region is None:
            raise CourseError(_("Region %(code)s does not exist.", code=code), "regions")
        regions.append(region)
    return regions


def save_course(actor, course: Course | None, *, title: str, summary: str, programme_id: int,
                skill_id: int, regions=(), trainer_ids=None, cover_asset_id: int | None = None) -> Course:
    """Create or edit a course. The cover is the poster of one of the actor's ready videos
    (no separate picture upload: every transcoded video already has a small versioned poster)."""
    title = (title or "").strip()
    if not title:
        raise CourseError(_("Give the course a title."), "title")
    programme = db.session.get(Programme, programme_id) if programme_id else None
    skill = db.session.get(Skill, skill_id) if skill_id else None
    if programme is None:
        raise CourseError(_("Choose a programme."), "programme")
    if skill is None:
        raise CourseError(_("Choose the skill the course teaches."), "skill")
    region_rows = _check_regions(regions)
    region_codes = [r.code for r in region_rows]
    if cover_asset_id and not _usable_cover(actor, cover_asset_id):
        raise CourseError(_("The cover must be one of your videos that is ready to play."), "cover")
    creating = course is None
    if creating:
        course = Course(created_by_id=actor.id if actor else None, created_at=utcnow(), published=False)
        db.session.add(course)
        if actor is not None and actor.has_role("trainer"):
            course.trainers = [actor]
    course.title, course.summary = title, (summary or "").strip()
    course.programme_id, course.skill_id = programme.id, skill.id
    course.cover_asset_id = cover_asset_id or None
    course.updated_at = utcnow()
    if trainer_ids is not None:
        from lms.accounts.models import User

        course.trainers = [u for u in (db.session.get(User, i) for i in trainer_ids)
                           if u is not None and u.has_role("trainer")]
    for row in [r for r in course.regions if r.region_code not in region_codes]:
        course.regions.remove(row)
    have = set(course.region_codes)
    course.regions.extend(CourseRegion(region_code=r.code, prefix=r.prefix)
                          for r in region_rows if r.code not in have)
    db.session.flush()
    record(actor, "course.create" if creating else "course.edit", f"course:{course.id}",
           {"title": course.title, "regions": region_codes})
    if course.published:
        course_published.send(course, course_id=course.id)
    return course


def _usable_cover(actor, asset_id: int) -> bool:
    from media import queries as media_queries

    asset = media_queries.ready_asset_of(actor, asset_id) if actor is not None else None
    return asset is not None and asset.kind == "video"


def cover_url(course: Course) -> str | None:
    """The cover picture's URL (its video's poster), or None: the skill icon stands in."""
    if not course.cover_asset_id:
        return None
    info = playback(course.cover_asset_id)
    return info.get("poster") if info and info.get("status") == "ready" else None


def may_edit(user, course: Course) -> bool:
    return user.has_role("admin") or course.created_by_id == user.id or user in course.trainers


def add_lesson(actor, course: Course, *, title: str, kind: str, body: str = "", asset_id: int | None = None,
               document: bytes | None = None, captions: str | None = None, required: bool = True) -> Lesson:
    title = (title or "").strip()
    if not title:
        raise CourseError(_("Give the lesson a title."), "title")
    try:
        kind_enum = LessonKind(kind)
    except ValueError:
        raise CourseError(_("Choose the kind of lesson."), "kind") from None
    # Attached to the course only once valid: the relationship cascade would otherwise save it.
    lesson = Lesson(title=title, kind=kind_enum, body=(body or "").strip(),
                    required=bool(required), position=_next_position(course))
    if kind_enum in (LessonKind.video, LessonKind.audio):
        if asset_id and not may_use(actor, asset_id):
            raise CourseError(_("Only your own media files can be used in your lessons."), "asset")
        info = playback(asset_id)
        if not info:
            raise CourseError(_("Choose a media file for this lesson."), "asset")
        if info.get("status") != "ready":
            raise CourseError(_("That media file is not ready yet; wait until transcoding has finished."), "asset")
        lesson.asset_id = asset_id
        lesson.duration = float(info.get("duration") or 0) or None
    elif kind_enum is LessonKind.document:
        if not document:
            raise CourseError(_("Attach the PDF document."), "document")
        lesson.document_path = store_document(document)
    elif not lesson.body:
        raise CourseError(_("Write the text of the lesson."), "body")
    if captions:
        lesson.captions = check_captions(captions)
    lesson.course = course
    db.session.add(lesson)
    db.session.flush()
    record(actor, "lesson.add", f"course:{course.id}", {"lesson": lesson.id, "kind": kind_enum.value})
    return lesson


MAX_CAPTIONS_BYTES = 2 * 1024 * 1024


def check_captions(text: str) -> str:
    if len(text) > MAX_CAPTIONS_BYTES:
        raise CourseError(_("The captions file is larger than %(mb)s MB.", mb=MAX_CAPTIONS_BYTES // 2**20), "captions")
    text = text.lstrip("\ufeff")
    if not text.startswith("WEBVTT"):
        raise CourseError(_("Captions must be a WebVTT file (it starts with WEBVTT)."), "captions")
    return text


def _store_by_content(data: bytes, folder: str, ext: str) -> str:
    """Write ``data`` once under the media root, named by its SHA-256 (a re-upload reuses the file)."""
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{folder}/{digest[:2]}/{digest}.{ext}"
    path = Path(current_app.config["MEDIA_ROOT"]) / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # one rename: a reader never sees half a file
    return rel


DOCUMENT_CHUNK = 256 * 1024


def store_document(source) -> str:
    """A lesson's PDF from a stream (an upload's spooled file, a zip entry) or bytes, written to
    disk piece by piece — never whole in memory — checked for size and type, content-addressed."""
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    limit_mb = int(get_setting("courses_max_document_mb"))
    root = Path(current_app.config["MEDIA_ROOT"])
    (root / "documents").mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=root / "documents", suffix=".tmp")
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(DOCUMENT_CHUNK):
                size += len(chunk)
                if size > limit_mb * 1024 * 1024:
                    raise CourseError(_("The document is larger than %(mb)s MB.", mb=limit_mb), "document")
                if len(head) < 5:
                    head = (head + chunk)[:5]
                digest.update(chunk)
                out.write(chunk)
        if head != b"%PDF-":
            raise CourseError(_("The document must be a PDF file."), "document")
        name = digest.hexdigest()
        rel = f"documents/{name[:2]}/{name}.pdf"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, root / rel)  # one rename: a reader never sees half a file
        return rel
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg", b"GIF8": "gif", b"RIFF": "webp"}


def store_image(data: bytes) -> str:
    """A question's picture (for learners who read little), content-addressed under the media root."""
    ext = next((e for magic, e in IMAGE_TYPES.items() if data.startswith(magic)), None)
    if ext is None or len(data) > 2 * 1024 * 1024:
        raise CourseError(_("The picture must be a PNG, JPEG, GIF or WebP file of at most 2 MB."))
    return _store_by_content(data, "quiz-images", ext)


def _next_position(course: Course) -> int:
    if course.id is None:
        return len(course.lessons)
    top = db.session.scalar(select(func.max(Lesson.position)).where(Lesson.course_id == course.id))
    return (top + 1) if top is not None else 0


def move_lesson(actor, lesson: Lesson, delta: int) -> None:
    lessons = list(lesson.course.lessons)
    i = lessons.index(lesson)
    j = max(0, min(len(lessons) - 1, i + delta))
    lessons.insert(j, lessons.pop(i))
    for pos, item in enumerate(lessons):
        item.position = pos
    db.session.flush()
    record(actor, "lesson.move", f"course:{lesson.course_id}", {"lesson": lesson.id, "to": j})


def delete_lesson(actor, lesson: Lesson) -> None:
    course = lesson.course
    course.lessons.remove(lesson)
    for pos, item in enumerate(course.lessons):
        item.position = pos
    db.session.flush()
    record(actor, "lesson.delete", f"course:{course.id}", {"lesson": lesson.id})


def set_quiz(actor, course: Course, pass_mark: float, questions: list[dict]) -> Quiz | None:
    """Replace the quiz. ``questions``: dicts with text, choices, answer (indexes)."""
    if not 0 < pass_mark <= 1:
        raise CourseError(_("The pass mark must be above 0 and at most 100%."), "pass_mark")
    clean = []
    for position, q in enumerate(questions):
        # ``number`` is the question's place in the trainer's form (empty slots are skipped).
        n = q.get("number", position + 1)
        field = f"question{n - 1}"
        text = (q.get("text") or "").strip()
        choices = [c.strip() for c in q.get("choices", []) if c and c.strip()]
        answer = sorted({int(a) for a in q.get("answer", [])})
        if not text:
            raise CourseError(_("Question %(n)d has no text.", n=n), field)
        if len(choices) < 2:
            raise CourseError(_("Question %(n)d needs at least two choices.", n=n), field)
        if not answer or any(a < 0 or a >= len(choices) for a in answer):
            raise CourseError(_("Mark the right answer of question %(n)d.", n=n), field)
        audio = q.get("audio_asset_id")
        if audio:
            if not may_use(actor, audio):
                raise CourseError(_("The spoken prompt of question %(n)d must be one of your own media files.", n=n),
                                  field)
            info = playback(audio)
            if not info or info.get("status") != "ready":
                raise CourseError(_("The spoken prompt of question %(n)d is not ready media.", n=n), field)
        clean.append(Question(position=position, text=text, choices=choices, answer=answer,
                              image_path=q.get("image_path"), audio_asset_id=audio or None))
    if course.quiz is None:
        course.quiz = Quiz(pass_mark=pass_mark)
    course.quiz.pass_mark = pass_mark
    course.quiz.questions = clean
    db.session.flush()
    record(actor, "quiz.save", f"course:{course.id}", {"questions": len(clean), "pass_mark": pass_mark})
    return course.quiz


def publish(actor, course: Course, published: bool = True) -> None:
    if published:
        if not course.lessons:
            raise CourseError(_("Add at least one lesson before publishing."))
        for lesson in course.lessons:
            if lesson.is_media and not lesson.duration:
                info = playback(lesson.asset_id)
                if not info or info.get("status") != "ready":
                    raise CourseError(_("The media of lesson “%(title)s” is not ready.", title=lesson.title))
                lesson.duration = float(info.get("duration") or 0)
        course.published_at = course.published_at or utcnow()
    course.published = published
    db.session.flush()
    record(actor, "course.publish" if published else "course.unpublish", f"course:{course.id}")
    # Search sits above courses: it hears of the change and queues its index job in this transaction.
    (course_published if published else course_unpublished).send(course, course_id=course.id)


def assets_in_use(asset_id: int) -> list[str]:
    """Which lessons, covers or quiz prompts use a media asset (media refuses to delete it)."""
    uses = [f"{c.title} / {ls.title}" for ls, c in db.session.execute(
        select(Lesson, Course).join(Course).where(Lesson.asset_id == asset_id))]
    uses += [c.title for c in db.session.scalars(select(Course).where(Course.cover_asset_id == asset_id))]
    uses += [f"{q.quiz.course.title} / {q.text[:20]}" for q in db.session.scalars(
        select(Question).where(Question.audio_asset_id == asset_id))]
    return uses
