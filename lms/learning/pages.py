"""The learner's pages: home, the catalogue, a course, a lesson, the quiz.

They show the catalogue (courses, below) with the learner's own progress and certificates, so they
live in learning, not in courses: courses know nothing of who learned what. The areas above add
their part of the home page through a template global their door registers (the skills the learner
holds: ``skills_of_learner``; the courses arranged for them: ``followup_for_learner``). Which course a learner may open is the courses' rule
(``courses.views.visible_course``), the same one the heartbeats and the media files use.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from courses import queries as course_queries
from courses.models import LessonKind, Skill
from courses.playback import playback
from courses.services import cover_url
from courses.views import editable_course, visible_course, visible_lesson
from lms.accounts import terminals
from lms.accounts.access import role_required
from lms.extensions import db
from lms.learning import queries, services

bp = Blueprint("learner", __name__)

HLS_SCRIPT_VERSION = "1.7.4"  # package.json's hls.js; the version in the URL busts caches on upgrade


def learner_required(view):
    return role_required("learner", "trainer", "admin")(view)


def hls_src() -> str:
    """The lesson player's script: the lesson page loads it, the home and catalogue prefetch it."""
    return url_for("static", filename="vendor/hls.light.min.js", v=HLS_SCRIPT_VERSION)


@bp.route("/learn")
@learner_required
def home():
    groups = course_queries.courses_by_top_skill(current_user)
    return render_template(
        "learning/home.html", hls_src=hls_src(), in_progress=queries.courses_in_progress(current_user),
        skills=[(s, len(cs)) for s, cs in groups],
        certificates=queries.certificates_of(current_user.id))


@bp.route("/learn/courses")
@learner_required
def catalogue():
    skill = None
    code = request.args.get("skill")
    if code:
        skill = db.session.scalar(select(Skill).where(Skill.code == code))
        if skill is None:
            abort(404)
        courses = course_queries.available_courses(current_user, course_queries.skill_family(skill))
        groups = [(skill, courses)] if courses else []
    else:
        groups = course_queries.courses_by_top_skill(current_user)
    status = queries.course_status(current_user.id, [c.id for _s, cs in groups for c in cs])
    return render_template("learning/catalogue.html", skill=skill, groups=groups, status=status, hls_src=hls_src())


@bp.route("/learn/courses/<int:course_id>")
@learner_required
def course(course_id):
    course = visible_course(course_id)
    done = services.completed_lesson_ids(current_user.id, course)
    enrolment = queries.enrolment(current_user.id, course.id)
    quiz_passed = services.quiz_passed(current_user.id, course.quiz)
    step = queries.next_step(course, done, enrolment.last_lesson_id if enrolment else None, quiz_passed)
    return render_template(
        "learning/course.html", course=course, done=done, enrolment=enrolment, cover=cover_url(course),
        quiz_passed=quiz_passed, step=step,
        certificate=queries.certificate_for(current_user.id, course.id),
        preview=not course.published)


@bp.route("/learn/courses/<int:course_id>/enrol", methods=["POST"])
@learner_required
def enrol(course_id):
    course = visible_course(course_id)
    services.ensure_enrolment(current_user.id, course.id)
    first = course.lessons[0] if course.lessons else None
    return redirect(url_for("learner.lesson", lesson_id=first.id) if first
                    else url_for("learner.course", course_id=course.id))


@bp.route("/learn/lessons/<int:lesson_id>")
@learner_required
def lesson(lesson_id):
    lesson = visible_lesson(lesson_id)
    course = lesson.course
    progress = services.note_opened(current_user.id, lesson)
    if lesson.kind is LessonKind.text:
        services.check_lesson_complete(progress, lesson)
    lessons = course.lessons
    i = lessons.index(lesson)
    media = playback(lesson.asset_id) if lesson.is_media else None
    terminal = terminals.current_terminal()
    return render_template(
        "learning/lesson.html", course=course, lesson=lesson, media=media, progress=progress,
        resume_at=queries.resume_position(progress, (media or {}).get("duration") or lesson.duration),
        preloads=_player_preloads(media), hls_src=hls_src(),
        prev=lessons[i - 1] if i > 0 else None, next=lessons[i + 1] if i + 1 < len(lessons) else None,
        default_quality="144p" if terminal is not None and terminal.data_saver else "auto",
        document_seconds=services.document_seconds(),
        reading_left=(services.reading_seconds_left(current_user.id, lesson)
                      if lesson.kind is LessonKind.document and not progress.completed_at else 0))


def _player_preloads(media: dict | None) -> list[tuple[str, str]]:
    """(url, as) pairs fetched while the lesson page is still parsing.

    On a 200 ms link the player's chain (script → master playlist → variant playlist → first
    segment) costs a round trip per step; fetching the master and the lowest video rung's
    playlist (where hls.js starts) in parallel with the page takes them off the time to the first
    frame. The player script itself is not preloaded: where it is cached (the home and catalogue
    prefetch it) it costs nothing on play, and where it is not, 120 KB at 400 kbps would hold up
    the progressive MP4 the player then starts with. The first segment waits for play.
    """
    if not media or media.get("status") != "ready" or not media.get("master"):
        return []
    preloads = [(media["master"], "fetch")]
    videos = [v for v in media.get("variants", []) if v["kind"] == "video"]
    if videos:
        preloads.append((min(videos, key=lambda v: v["bandwidth"] or 0)["url"], "fetch"))
    return preloads


@bp.route("/learn/lessons/<int:lesson_id>/done", methods=["POST"])
@learner_required
def lesson_done(lesson_id):
    lesson = visible_lesson(lesson_id)
    if lesson.is_media:
        abort(400)
    if services.complete_reading(current_user.id, lesson):
        flash(_("Lesson complete."), "success")
    else:
        flash(_("Too soon: please read for %(n)d more seconds, then press the button again.",
                n=services.reading_seconds_left(current_user.id, lesson)), "info")
    return redirect(url_for("learner.lesson", lesson_id=lesson.id))


@bp.route("/learn/lessons/<int:lesson_id>/document.pdf")
@login_required
def document(lesson_id):
    """The lesson's PDF; opening it starts the reading clock as opening the lesson page does."""
    from pathlib import Path

    lesson = visible_lesson(lesson_id)
    if not lesson.document_path:
        abort(404)
    path = Path(current_app.config["MEDIA_ROOT"]) / lesson.document_path
    if not path.is_file():
        abort(404)
    services.note_document_opened(current_user.id, lesson)
    return send_file(path, mimetype="application/pdf", conditional=True, max_age=86400)


@bp.route("/learn/courses/<int:course_id>/quiz", methods=["GET", "POST"])
@learner_required
def quiz(course_id):
    course = visible_course(course_id)
    if course.quiz is None or not course.quiz.questions:
        abort(404)
    attempt = None
    if request.method == "POST":
        answers = [[int(v) for v in request.form.getlist(f"q{q.id}") if v.isdigit()]
                   for q in course.quiz.questions]
        attempt = services.submit_quiz(current_user.id, course.quiz, answers)
        if attempt.passed:
            flash(_("You passed the quiz."), "success")
            return redirect(url_for("learner.course", course_id=course.id))
    return render_template("learning/quiz.html", course=course, quiz=course.quiz, attempt=attempt,
                           playback=playback, hls_src=hls_src())


@bp.route("/teach/courses/<int:course_id>/progress")
@role_required("trainer", "admin")
def course_progress(course_id):
    """The trainer's table of the course's learners and how far each has come."""
    course = editable_course(course_id)
    return render_template("learning/course_progress.html", course=course,
                           rows=queries.course_progress_table(course))
