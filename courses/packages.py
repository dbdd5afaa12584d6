"""Export and import of course packages (the zip format is in courses.package)."""
from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from courses import services
from courses.models import Course, LessonKind
from courses.package import PackageError, read_package
from lms.extensions import db


def export_course(course_id: int, out: str) -> None:
    course = db.session.get(Course, course_id)
    if course is None:
        raise PackageError([_("Course %(id)s does not exist.", id=course_id)])
    from courses.mediaio import export_file

    lessons, files = [], {}
    for n, lesson in enumerate(course.lessons, start=1):
        item = {"title": lesson.title, "kind": lesson.kind.value, "required": lesson.required}
        if lesson.body:
            item["body"] = lesson.body
        if lesson.is_media:
            src = export_file(lesson.asset_id)
            if src is None or not src.is_file():
                raise PackageError([_("The media of lesson “%(title)s” is missing.", title=lesson.title)])
            name = f"media/{n:03d}{src.suffix.lower()}"
            files[name] = src
            item["media"] = name
        elif lesson.kind is LessonKind.document and lesson.document_path:
            name = f"media/{n:03d}.pdf"
            files[name] = Path(current_app.config["MEDIA_ROOT"]) / lesson.document_path
            item["media"] = name
        if lesson.captions:
            item["captions"] = lesson.captions
        lessons.append(item)
    manifest = {
        "format": "xiangxue-course/1", "title": course.title, "summary": course.summary,
        "programme": course.programme.code, "skill": course.skill.code, "published": course.published,
        "lessons": lessons,
    }
    if course.region_codes:
        manifest["regions"] = course.region_codes
    if course.quiz and course.quiz.questions:
        manifest["quiz"] = {"pass_mark": course.quiz.pass_mark, "questions": [
            {"text": q.text, "choices": q.choices, "answer": q.answer} for q in course.quiz.questions]}
    tmp = Path(out).with_name(Path(out).name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        for name, src in files.items():
            # Video is already compressed: store, don't deflate.
            zf.write(src, name, compress_type=zipfile.ZIP_STORED)
    tmp.replace(out)


def import_course(path, actor=None) -> Course:
    """Validate everything, then create the course; any failure raises PackageError and the
    caller rolls back, so nothing of a bad package remains."""
    manifest, zf = read_package(path)
    with zf:
        problems = []
        programme = services.find_programme(manifest.programme)
        skill = services.find_skill(manifest.skill)
        if programme is None:
            problems.append(_("Unknown programme “%(value)s”.", value=manifest.programme))
        if skill is None:
            problems.append(_("Unknown skill “%(value)s”.", value=manifest.skill))
        from lms.regions.models import Region

        for code in manifest.regions or []:
            if db.session.get(Region, code) is None:
                problems.append(_("Region %(code)s does not exist.", code=code))
        if problems:
            raise PackageError(problems)
        work = Path(tempfile.mkdtemp(prefix="course-import-"))
        try:
            raw = json.loads(zf.read("manifest.json").decode("utf-8-sig"))
            course = _create(manifest, raw, zf, work, programme, skill, actor)
        except services.CourseError as exc:
            raise PackageError([str(exc)]) from None
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return course


def _create(manifest, raw, zf, work: Path, programme, skill, actor) -> Course:
    from courses.mediaio import MediaImportError, ingest

    course = services.save_course(actor, None, title=manifest.title, summary=manifest.summary,
                                  programme_id=programme.id, skill_id=skill.id, regions=manifest.regions or [])
    for n, (spec, raw_lesson) in enumerate(zip(manifest.lessons, raw["lessons"]), start=1):
        captions = raw_lesson.get("captions") if isinstance(raw_lesson.get("captions"), str) else None
        asset_id, document = None, None
        if spec.kind in ("video", "audio"):
            target = work / f"{n:03d}{Path(spec.media).suffix}"
            with zf.open(spec.media) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            try:
                asset_id = ingest(target, f"{manifest.title} · {spec.title}", actor)
            except MediaImportError as exc:
                raise PackageError([_("Lesson %(n)d: %(error)s", n=n, error=str(exc))]) from None
            except Exception as exc:  # the media area's own probe/transcode errors
                raise PackageError([_("Lesson %(n)d: the media file cannot be used: %(error)s",
                                      n=n, error=str(exc))]) from None
        elif spec.kind == "document":
            document = zf.open(spec.media)  # streamed to disk by the service
        try:
            services.add_lesson(actor, course, title=spec.title, kind=spec.kind, body=spec.body,
                                asset_id=asset_id, document=document, captions=captions,
                                required=spec.required)
        except services.CourseError as exc:
            raise PackageError([_("Lesson %(n)d: %(error)s", n=n, error=str(exc))]) from None
        finally:
            if document is not None:
                document.close()
    if manifest.questions:
        services.set_quiz(actor, course, manifest.pass_mark, [
            {"text": q.text, "choices": q.choices, "answer": q.answer} for q in manifest.questions])
    if manifest.published:
        services.publish(actor, course, True)
    return course


