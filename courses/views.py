"""Trainer authoring, and the course files learners open (captions, quiz pictures); the learner's
pages are lms.learning.pages."""
from __future__ import annotations

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import select

from courses import queries, services
from courses.models import Course, Lesson, LessonKind, Programme, Skill
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


# ---------------------------------------------------------------- the course's files for learners
# (the learner's pages, which show their progress, are lms.learning.pages)

def visible_course(course_id: int) -> Course:
    """The course if the signed-in person may open it, else 404: the rule of every learner page,
    of the heartbeats and of the media files (``queries.may_open``)."""
    course = db.get_or_404(Course, course_id)
    if queries.may_open(current_user, course):
        return course
    abort(404)


def visible_lesson(lesson_id: int) -> Lesson:
    """The lesson if the signed-in person may open its course, else 404."""
    lesson = db.get_or_404(Lesson, lesson_id)
    visible_course(lesson.course_id)
    return lesson


@bp.route("/learn/lessons/<int:lesson_id>/captions.vtt")
@login_required
def captions(lesson_id):
    lesson = visible_lesson(lesson_id)
    if not lesson.captions:
        abort(404)
    return Response(lesson.captions, mimetype="text/vtt",
                    headers={"Cache-Control": "private, max-age=3600"})


@bp.route("/learn/questions/<int:question_id>/image")
@login_required
def question_image(question_id):
    from pathlib import Path

    from courses.models import Question

    question = db.get_or_404(Question, question_id)
    visible_course(question.quiz.course_id)
    if not question.image_path:
        abort(404)
    return send_file(Path(current_app.config["MEDIA_ROOT"]) / question.image_path, max_age=86400)


# ---------------------------------------------------------------- trainer authoring

def editable_course(course_id: int) -> Course:
    """The course if the signed-in trainer (or admin) may edit it, else 404."""
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
    course = editable_course(course_id) if course_id else None
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
    return _manage_page(editable_course(course_id))


def _manage_page(course, error=None, field=None, form=None):
    """The course's page; after a refused lesson, with what was typed and the field at fault."""
    from lms.regions.queries import region_names

    return render_template("courses/teach_manage.html", course=course, assets=_ready_assets(),
                           kinds=list(LessonKind), region_names=region_names(course.region_codes), error=error, field=field, form=form or {}), (400 if error else 200)


@bp.route("/teach/courses/<int:course_id>/lessons", methods=["POST"])
@role_required("trainer", "admin")
def add_lesson(course_id):
    course = editable_course(course_id)
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
        return _manage_page(editable_course(course_id), str(exc), exc.field, f)
    flash(_("Lesson added."), "success")
    return redirect(url_for("courses.manage", course_id=course.id))


@bp.route("/teach/lessons/<int:lesson_id>/move", methods=["POST"])
@role_required("trainer", "admin")
def move_lesson(lesson_id):
    lesson = db.get_or_404(Lesson, lesson_id)
    editable_course(lesson.course_id)
    services.move_lesson(current_user, lesson, -1 if request.form.get("dir") == "up" else 1)
    return redirect(url_for("courses.manage", course_id=lesson.course_id))


@bp.route("/teach/lessons/<int:lesson_id>/delete", methods=["POST"])
@role_required("trainer", "admin")
def delete_lesson(lesson_id):
    lesson = db.get_or_404(Lesson, lesson_id)
    course = editable_course(lesson.course_id)
    services.delete_lesson(current_user, lesson)
    flash(_("Lesson removed."), "success")
    return redirect(url_for("courses.manage", course_id=course.id))


@bp.route("/teach/courses/<int:course_id>/quiz", methods=["GET", "POST"])
@role_required("trainer", "admin")
def edit_quiz(course_id):
    course = editable_course(course_id)
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
    course = editable_course(course_id)
    want = request.form.get("published") == "1"
    try:
        services.publish(current_user, course, want)
    except services.CourseError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("courses.manage", course_id=course_id), 303)
    flash(_("The course is published.") if want else _("The course is no longer published."), "success")
    return redirect(url_for("courses.manage", course_id=course.id))
