"""Learner catalogue and lesson pages; trainer authoring."""
from __future__ import annotations

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import select

from courses import queries, services
from courses.models import Course, Lesson, LessonKind, Programme, Skill
from courses.playback import playback
from lms.accounts.access import role_required
from lms.extensions import db
from lms.inputs import db_id, db_int

bp = Blueprint("courses", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/courses")


def list_of(items) -> Markup:
    """Names joined the way the language joins them (喂养、防疫和出栏; a, b and c): the ``list_of``
    template filter (registered by courses.init_app)."""
    from babel.lists import format_list
    from flask_babel import get_locale

    return Markup(format_list([str(escape(i)) for i in items], locale=get_locale()))


def learner_required(view):
    return role_required("learner", "trainer", "admin")(view)


# ---------------------------------------------------------------- learner pages

@bp.route("/learn")
@learner_required
def learner_home():
    from lms.learning import queries as learning_queries
    from lms.skills import queries as skills_queries

    groups = queries.courses_by_top_skill(current_user)
    return render_template(
        "courses/home.html", hls_src=hls_src(), in_progress=learning_queries.courses_in_progress(current_user),
        skills=[(s, len(cs)) for s, cs in groups],
        certificates=learning_queries.certificates_of(current_user.id),
        my_skills=skills_queries.my_skills(current_user))


@bp.route("/learn/courses")
@learner_required
def catalogue():
    skill = None
    code = request.args.get("skill")
    if code:
        skill = db.session.scalar(select(Skill).where(Skill.code == code))
        if skill is None:
            abort(404)
        courses = queries.available_courses(current_user, queries.skill_family(skill))
        groups = [(skill, courses)] if courses else []
    else:
        groups = queries.courses_by_top_skill(current_user)
    from lms.learning import queries as learning_queries

    status = learning_queries.course_status(current_user.id, [c.id for _s, cs in groups for c in cs])
    return render_template("courses/catalogue.html", skill=skill, groups=groups, status=status, hls_src=hls_src())


def _visible_course(course_id: int) -> Course:
    course = db.get_or_404(Course, course_id)
    if queries.may_open(current_user, course):  # heartbeats decide with the same rule
        return course
    abort(404)


@bp.route("/learn/courses/<int:course_id>")
@learner_required
def course(course_id):
    from lms.learning import queries as learning_queries
    from lms.learning import services as learning

    course = _visible_course(course_id)
    done = learning.completed_lesson_ids(current_user.id, course)
    enrolment = learning_queries.enrolment(current_user.id, course.id)
    quiz_passed = learning.quiz_passed(current_user.id, course.quiz)
    step = learning_queries.next_step(course, done, enrolment.last_lesson_id if enrolment else None, quiz_passed)
    return render_template(
        "courses/course.html", course=course, done=done, enrolment=enrolment, cover=services.cover_url(course),
        quiz_passed=quiz_passed, step=step,
        certificate=learning_queries.certificate_for(current_user.id, course.id),
        preview=not course.published)


@bp.route("/learn/courses/<int:course_id>/enrol", methods=["POST"])
@learner_required
def enrol(course_id):
    from lms.learning import services as learning

    course = _visible_course(course_id)
    learning.ensure_enrolment(current_user.id, course.id)
    first = course.lessons[0] if course.lessons else None
    return redirect(url_for("courses.lesson", lesson_id=first.id) if first
                    else url_for("courses.course", course_id=course.id))


HLS_SCRIPT_VERSION = "1.7.4"  # package.json's hls.js; the version in the URL busts caches on upgrade


def hls_src() -> str:
    """The lesson player's script: the lesson page loads it, the home and catalogue prefetch it."""
    return url_for("static", filename="vendor/hls.light.min.js", v=HLS_SCRIPT_VERSION)


@bp.route("/learn/lessons/<int:lesson_id>")
@learner_required
def lesson(lesson_id):
    from lms.learning import queries as learning_queries
    from lms.learning import services as learning

    lesson = db.get_or_404(Lesson, lesson_id)
    course = _visible_course(lesson.course_id)
    progress = learning.note_opened(current_user.id, lesson)
    if lesson.kind is LessonKind.text:
        learning.check_lesson_complete(progress, lesson)
    lessons = course.lessons
    i = lessons.index(lesson)
    media = playback(lesson.asset_id) if lesson.is_media else None
    from lms.learning.terminals import current_terminal

    terminal = current_terminal()
    return render_template(
        "courses/lesson.html", course=course, lesson=lesson, media=media, progress=progress,
        resume_at=learning_queries.resume_position(progress, (media or {}).get("duration") or lesson.duration),
        preloads=_player_preloads(media), hls_src=hls_src(),
        prev=lessons[i - 1] if i > 0 else None, next=lessons[i + 1] if i + 1 < len(lessons) else None,
        default_quality="144p" if terminal is not None and terminal.data_saver else "auto",
        document_seconds=learning.document_seconds(),
        reading_left=(learning.reading_seconds_left(current_user.id, lesson)
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
    from lms.learning import services as learning

    lesson = db.get_or_404(Lesson, lesson_id)
    _visible_course(lesson.course_id)
    if lesson.is_media:
        abort(400)
    if learning.complete_reading(current_user.id, lesson):
        flash(_("Lesson complete."), "success")
    else:
        flash(_("Too soon: please read for %(n)d more seconds, then press the button again.",
                n=learning.reading_seconds_left(current_user.id, lesson)), "info")
    return redirect(url_for("courses.lesson", lesson_id=lesson.id))


@bp.route("/learn/lessons/<int:lesson_id>/captions.vtt")
@login_required
def captions(lesson_id):
    lesson = db.get_or_404(Lesson, lesson_id)
    _visible_course(lesson.course_id)
    if not lesson.captions:
        abort(404)
    return Response(lesson.captions, mimetype="text/vtt",
                    headers={"Cache-Control": "private, max-age=3600"})


@bp.route("/learn/lessons/<int:lesson_id>/document.pdf")
@login_required
def document(lesson_id):
    lesson = db.get_or_404(Lesson, lesson_id)
    _visible_course(lesson.course_id)
    if not lesson.document_path:
        abort(404)
    from pathlib import Path

    path = Path(current_app.config["MEDIA_ROOT"]) / lesson.document_path
    if not path.is_file():
        abort(404)
    from lms.learning import services as learning

    learning.note_document_opened(current_user.id, lesson)
    return send_file(path, mimetype="application/pdf", conditional=True, max_age=86400)


@bp.route("/learn/courses/<int:course_id>/quiz", methods=["GET", "POST"])
@learner_required
def quiz(course_id):
    from lms.learning import services as learning

    course = _visible_course(course_id)
    if course.quiz is None or not course.quiz.questions:
        abort(404)
    attempt = None
    if request.method == "POST":
        answers = [[int(v) for v in request.form.getlist(f"q{q.id}") if v.isdigit()]
                   for q in course.quiz.questions]
        attempt = learning.submit_quiz(current_user.id, course.quiz, answers)
        if attempt.passed:
            flash(_("You passed the quiz."), "success")
            return redirect(url_for("courses.course", course_id=course.id))
    return render_template("courses/quiz.html", course=course, quiz=course.quiz, attempt=attempt,
                           playback=playback, hls_src=hls_src())


@bp.route("/learn/questions/<int:question_id>/image")
@login_required
def question_image(question_id):
    from pathlib import Path

    from courses.models import Question

    question = db.get_or_404(Question, question_id)
    _visible_course(question.quiz.course_id)
    if not question.image_path:
        abort(404)
    return send_file(Path(current_app.config["MEDIA_ROOT"]) / question.image_path, max_age=86400)


# ---------------------------------------------------------------- trainer authoring

def _editable(course_id: int) -> Course:
    course = db.get_or_404(Course, course_id)
    if not services.may_edit(current_user, course):
        abort(404)
    return course


@bp.route("/teach")
@role_required("trainer", "admin")
def trainer_courses():
    courses = queries.trainer_courses(current_user)
    return render_template("courses/teach_list.html", courses=courses,
                           counts=queries.enrolment_counts([c.id for c in courses]))


def _form_lists():
    programmes = list(db.session.scalars(select(Programme).where(Programme.active.is_(True)).order_by(Programme.id)))
    skills = list(db.session.scalars(select(Skill).order_by(Skill.parent_id.is_not(None), Skill.position)))
    return programmes, skills


@bp.route("/teach/courses/new", methods=["GET", "POST"])
@bp.route("/teach/courses/<int:course_id>/edit", methods=["GET", "POST"])
@role_required("trainer", "admin")
def edit(course_id=None):
    course = _editable(course_id) if course_id else None
    error = field = None
    from lms.regions.picker import build_picker, deepest_choice, is_step, region_paths

    adding = "region_add" in request.form or is_step(request.form)
    if request.method == "POST" and not adding:
        f = request.form
        try:
            course = services.save_course(
                current_user, course, title=f.get("title", ""), summary=f.get("summary", ""),
                programme_id=int(f.get("programme") or 0), skill_id=int(f.get("skill") or 0),
                regions=_region_codes(f, with_pick=True),
                cover_asset_id=int(f.get("cover") or 0) or None)
        except services.CourseError as exc:
            error, field = str(exc), exc.field
            db.session.rollback()
        except ValueError:
            error = _("Choose from the lists.")
            db.session.rollback()
        else:
            flash(_("Course saved."), "success")
            return redirect(url_for("courses.manage", course_id=course.id))
    from .queries import skill_groups

    programmes, _skills = _form_lists()
    videos = [a for a in _ready_assets() if getattr(a, "kind", None) == "video"]
    chosen = (_region_codes(request.form, with_pick="region_add" in request.form) if request.method == "POST"
              else (course.region_codes if course else []))
    # Once added, the picker starts again; a next-level reload keeps its choice.
    pick = deepest_choice(request.form.getlist("region_pick")) if is_step(request.form) else None
    return render_template("courses/teach_edit.html", course=course, programmes=programmes, skill_groups=skill_groups(),
                           region_picker=build_picker("region_pick", "", pick), chosen_regions=region_paths(chosen),
                           videos=videos, error=error,
                           field=field, form=request.form), (400 if error else 200)


def _region_codes(form, with_pick: bool = False) -> list[str]:
    """The regions chosen (a scripted client may still send codes separated by spaces); with
    ``with_pick`` also the one the step-by-step picker shows (added, or chosen and saved at once)."""
    from lms.regions.picker import deepest_choice

    codes = [code for value in form.getlist("regions") for code in value.replace(",", " ").split()]
    pick = deepest_choice(form.getlist("region_pick")) if with_pick else None
    return list(dict.fromkeys(codes + ([pick] if pick else [])))


def _ready_assets():
    from media import queries as media_queries

    return list(media_queries.ready_assets(current_user))


@bp.route("/teach/courses/<int:course_id>")
@role_required("trainer", "admin")
def manage(course_id):
    return _manage_page(_editable(course_id))


def _manage_page(course, error=None, field=None, form=None):
    """The course's page; after a refused lesson, with what was typed and the field at fault."""
    from lms.regions.queries import region_names

    return render_template("courses/teach_manage.html", course=course, assets=_ready_assets(),
                           kinds=list(LessonKind), region_names=region_names(course.region_codes), error=error, field=field, form=form or {}), (400 if error else 200)


@bp.route("/teach/courses/<int:course_id>/lessons", methods=["POST"])
@role_required("trainer", "admin")
def add_lesson(course_id):
    course = _editable(course_id)
    f = request.form
    upload = request.files.get("document")
    captions = request.files.get("captions")
    try:
        asset_id = _asset_field(f.get("asset"))
        services.add_lesson(current_user, course, title=f.get("title", ""), kind=f.get("kind", ""),
                            body=f.get("body", ""), asset_id=asset_id,
                            document=upload.stream if upload and upload.filename else None,
                            captions=(captions.read(services.MAX_CAPTIONS_BYTES + 1).decode("utf-8", "replace")
                                      if captions and captions.filename else None),
                            required=f.get("required") == "1")
    except services.CourseError as exc:
        db.session.rollback()
        return _manage_page(_editable(course_id), str(exc), exc.field, f)
    flash(_("Lesson added."), "success")
    return redirect(url_for("courses.manage", course_id=course.id))


@bp.route("/teach/lessons/<int:lesson_id>/move", methods=["POST"])
@role_required("trainer", "admin")
def move_lesson(lesson_id):
    lesson = db.get_or_404(Lesson, lesson_id)
    _editable(lesson.course_id)
    services.move_lesson(current_user, lesson, -1 if request.form.get("dir") == "up" else 1)
    return redirect(url_for("courses.manage", course_id=lesson.course_id))


@bp.route("/teach/lessons/<int:lesson_id>/delete", methods=["POST"])
@role_required("trainer", "admin")
def delete_lesson(lesson_id):
    lesson = db.get_or_404(Lesson, lesson_id)
    course = _editable(lesson.course_id)
    services.delete_lesson(current_user, lesson)
    flash(_("Lesson removed."), "success")
    return redirect(url_for("courses.manage", course_id=course.id))


@bp.route("/teach/courses/<int:course_id>/quiz", methods=["GET", "POST"])
@role_required("trainer", "admin")
def edit_quiz(course_id):
    course = _editable(course_id)
    error = field = None
    drafts = None
    if request.method == "POST":
        f = request.form
        drafts, questions = [], []
        for n in range(min(MAX_QUESTIONS, db_int(f.get("count") or "0") or 0)):
            draft = {"text": f.get(f"text{n}", "").strip(), "choices": [f.get(f"choice{n}_{i}", "") for i in range(4)],
                     "answer": [int(a) for a in f.getlist(f"answer{n}") if a.isdigit()],
                     "image_path": _kept_image(course, f.get(f"keep_image{n}")),
                     "audio_asset_id": _asset_field(f.get(f"audio{n}"))}
            drafts.append(draft)
            if draft["text"]:
                questions.append({**draft, "number": n + 1, "image": request.files.get(f"image{n}")})
        try:
            mark = _pass_mark(f.get("pass_mark"))
            for q in questions:
                upload = q.pop("image")
                if upload is not None and upload.filename:
                    try:
                        q["image_path"] = services.store_image(upload.read())
                    except services.CourseError as exc:
                        raise services.CourseError(str(exc), f"question{q['number'] - 1}") from None
            services.set_quiz(current_user, course, mark, questions)
        except services.CourseError as exc:
            error, field = str(exc), exc.field
            db.session.rollback()
        else:
            flash(_("Quiz saved."), "success")
            return redirect(url_for("courses.manage", course_id=course.id))
    stored = course.quiz.questions if course.quiz else []
    return render_template("courses/teach_quiz.html", course=course, error=error, field=field, drafts=drafts,
                           previews={q.image_path: q.id for q in stored if q.image_path},
                           pass_mark=request.form.get("pass_mark") if drafts is not None else None,
                           assets=[a for a in _ready_assets() if getattr(a, "kind", "audio") in ("audio", "video")]), \
        (400 if error else 200)


def _pass_mark(value) -> float:
    """The pass mark typed as a percentage (empty: 60 %)."""
    try:
        return float(value or 60) / 100
    except ValueError:
        raise services.CourseError(_("The pass mark must be above 0 and at most 100%."), "pass_mark") from None


def _asset_field(value):
    """A media id chosen in a form: None when empty; a value no id can have stays refused by the
    services (-1: not the trainer's own)."""
    if not value:
        return None
    number = db_id(value)
    return -1 if number is None else (number or None)


MAX_QUESTIONS = 100  # the form's "count" is outside input: it bounds the loop above


def _kept_image(course, path):
    """Only a picture this quiz already has may be kept (the form names it)."""
    if not path or course.quiz is None:
        return None
    return path if any(q.image_path == path for q in course.quiz.questions) else None


@bp.route("/teach/courses/<int:course_id>/publish", methods=["POST"])
@role_required("trainer", "admin")
def publish(course_id):
    course = _editable(course_id)
    want = request.form.get("published") == "1"
    try:
        services.publish(current_user, course, want)
    except services.CourseError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("courses.manage", course_id=course_id), 303)
    flash(_("The course is published.") if want else _("The course is no longer published."), "success")
    return redirect(url_for("courses.manage", course_id=course.id))


@bp.route("/teach/courses/<int:course_id>/progress")
@role_required("trainer", "admin")
def learners(course_id):
    from lms.learning import queries as learning_queries

    course = _editable(course_id)
    return render_template("courses/teach_progress.html", course=course,
                           rows=learning_queries.course_progress_table(course))
