"""Trainers' offline classes (roster, sessions, attendance, assessment) and officials' award list
with revocation. Every change is audited by the services; out-of-scope objects are a 404."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lms.accounts.access import role_required
from lms.extensions import db
from lms.regions.models import Region
from lms.regions.scope import ensure_in_scope, in_scope
from lms.skills import services
from lms.skills.models import EVIDENCE_LABELS, SOURCE_LABELS, ClassSession, OfflineClass, SkillAward, Trainee

bp = Blueprint("skills", __name__, template_folder="templates")

PHOTO_TYPES = {b"\xff\xd8\xff": ".jpg", b"\x89PNG": ".png"}
PHOTO_LIMIT = 8 * 1024 * 1024


def _class(class_id: int, edit: bool = False) -> OfflineClass:
    klass = db.get_or_404(OfflineClass, class_id)
    ensure_in_scope(current_user, klass.region_code)
    if edit and not (current_user.has_role("admin") or klass.trainer_id == current_user.id):
        abort(404)
    return klass


def _date(name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(request.form.get(name, "").strip())
    except ValueError:
        raise services.SkillError(_("Enter dates as YYYY-MM-DD."), name) from None


def _number(name: str) -> float:
    try:
        return float(request.form.get(name) or 0)
    except ValueError:
        raise services.SkillError(_("Hours must be a number."), name) from None


@bp.route("/skills/classes", methods=["GET", "POST"])
@role_required("trainer", "admin", "official")
def classes():
    from courses.models import Programme, Skill

    from lms.regions.picker import build_picker, deepest_choice, is_step

    error = field = None
    code = deepest_choice(request.form.getlist("region_code")) or ""
    if request.method == "POST" and not is_step(request.form):
        if not current_user.has_role("trainer", "admin"):
            abort(403)
        try:
            region = db.session.get(Region, code)
            if region is None or region.level not in (4, 5):
                raise services.SkillError(_("Choose the village or township where the class is held."), "region_code")
            skill_id = _int("skill_id")
            if db.session.get(Skill, skill_id) is None:
                raise services.SkillError(_("Choose a skill."), "skill_id")
            programme_id = _int("programme_id") or None
            if programme_id and db.session.get(Programme, programme_id) is None:
                raise services.SkillError(_("Choose a programme from the list."), "programme_id")
            klass = services.create_class(title=request.form.get("title", ""), skill_id=skill_id,
                                          programme_id=programme_id, place=request.form.get("place", ""),
                                          region_code=code, starts_on=_date("starts_on"), ends_on=_date("ends_on"),
                                          hours=_number("hours"), trainer=current_user)
        except services.SkillError as exc:
            db.session.rollback()
            error, field = str(exc), exc.field
        else:
            return redirect(url_for("skills.class_detail", class_id=klass.id))
    from courses.queries import skill_groups
    from lms.regions.queries import region_names
    from lms.regions.scope import region_prefix

    stmt = select(OfflineClass).where(in_scope(current_user, OfflineClass.region_code))
    if current_user.has_role("trainer"):
        stmt = stmt.where(OfflineClass.trainer_id == current_user.id)
    rows = list(db.session.scalars(stmt.order_by(OfflineClass.starts_on.desc()).limit(200)))
    return render_template("skills/classes.html", classes=rows, skill_groups=skill_groups(),
                           region_picker=build_picker("region_code", region_prefix(current_user) or "", code,
                                                      levels=(4, 5)),
                           region_names=region_names(c.region_code for c in rows),
                           programmes=list(db.session.scalars(select(Programme).order_by(Programme.name))),
                           error=error, field=field, form=request.form), (400 if error else 200)


def _int(name: str) -> int:
    value = (request.form.get(name) or "0").strip()
    return int(value) if value.isdigit() and len(value) < 10 else -1


@bp.get("/skills/classes/<int:class_id>")
@role_required("trainer", "admin", "official")
def class_detail(class_id: int):
    return _class_page(_class(class_id))


def _class_page(klass, error=None, field=None, status=200, form=None):
    """The class page; after a refused form, with what was typed (``form``) and the field at fault.
    Fields of the several forms on the page have distinct names."""
    from lms.regions.queries import region_names

    present = {(a.session_id, a.trainee_id): a.present for s in klass.sessions for a in s.attendance}
    can_edit = current_user.has_role("admin") or klass.trainer_id == current_user.id
    return render_template("skills/class.html", klass=klass, present=present, can_edit=can_edit, error=error,
                           field=field, form=form if form is not None else (request.form if error else {}),
                           region_name=region_names([klass.region_code]).get(klass.region_code, "")), status


def _refused(klass, exc, field=None):
    db.session.rollback()
    return _class_page(_class(klass.id), str(exc), getattr(exc, "field", None) or field, 400)


def _back(klass, message=None):
    if message:
        flash(message, "success")
    return redirect(url_for("skills.class_detail", class_id=klass.id))


@bp.post("/skills/classes/<int:class_id>/trainees")
@role_required("trainer", "admin")
def add_trainees(class_id: int):
    klass = _class(class_id, edit=True)
    lines = request.form.get("id_numbers", "").replace("，", "\n").replace(",", "\n").splitlines()
    added, unknown = services.add_trainees(klass, lines, current_user)
    if unknown:
        # The others are added (the page answers 200, so they are saved); the unknown numbers stay
        # in the box to be corrected.
        if added:
            flash(_("%(n)s trainees added.", n=len(added)), "success")
        return _class_page(klass, _("Not registered in this class's region: %(numbers)s", numbers=", ".join(unknown)),
                           "id_numbers", form={"id_numbers": "\n".join(unknown)})
    return _back(klass, _("%(n)s trainees added.", n=len(added)))


@bp.post("/skills/classes/<int:class_id>/sessions")
@role_required("trainer", "admin")
def add_session(class_id: int):
    klass = _class(class_id, edit=True)
    try:
        services.add_session(klass, _date("held_on"), _number("hours"), request.form.get("topic", ""),
                             current_user)
    except services.SkillError as exc:
        return _refused(klass, exc, "held_on")
    return _back(klass, _("Session added."))


@bp.post("/skills/sessions/<int:session_id>/attendance")
@role_required("trainer", "admin")
def attendance(session_id: int):
    session = db.get_or_404(ClassSession, session_id)
    klass = _class(session.class_id, edit=True)
    try:
        if "numbers" in request.form:
            numbers = services.parse_roster_numbers(request.form.get("numbers", ""))
        else:
            numbers = {t.number for t in klass.trainees if request.form.get(f"present-{t.id}")}
        count = services.take_attendance(session, numbers, current_user)
    except services.SkillError as exc:
        return _refused(klass, exc, f"numbers-{session.id}")
    return _back(klass, _("Attendance saved: %(n)s present.", n=count))


def _save_photo(upload) -> str | None:
    if upload is None or not upload.filename:
        return None
    data = upload.read(PHOTO_LIMIT + 1)
    if len(data) > PHOTO_LIMIT:
        raise services.SkillError(_("The photo is larger than 8 MB."))
    ext = next((e for magic, e in PHOTO_TYPES.items() if data.startswith(magic)), None)
    if ext is None:
        raise services.SkillError(_("The photo must be a JPEG or PNG image."))
    digest = hashlib.sha256(data).hexdigest()
    relative = f"skills/photos/{digest[:2]}/{digest}{ext}"
    target = Path(current_app.config["MEDIA_ROOT"]) / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return relative


@bp.post("/skills/classes/<int:class_id>/trainees/<int:trainee_id>/assess")
@role_required("trainer", "admin")
def assess(class_id: int, trainee_id: int):
    klass = _class(class_id, edit=True)
    trainee = db.get_or_404(Trainee, trainee_id)
    if trainee.class_id != klass.id:
        abort(404)
    result = request.form.get("result")
    try:
        if result not in ("pass", "fail"):
            raise services.SkillError(_("Choose pass or fail."))
        photo = _save_photo(request.files.get("photo"))
        services.assess(trainee, result == "pass", current_user, request.form.get("note", ""), photo)
    except services.SkillError as exc:
        return _refused(klass, exc, f"assess-{trainee.id}")
    return _back(klass, _("Assessment saved."))


@bp.post("/skills/classes/<int:class_id>/signoff")
@role_required("trainer", "admin")
def bulk_signoff(class_id: int):
    klass = _class(class_id, edit=True)
    try:
        numbers = services.parse_roster_numbers(request.form.get("numbers", ""))
        count = services.bulk_sign_off(klass, numbers, current_user)
    except services.SkillError as exc:
        return _refused(klass, exc, "signoff")
    return _back(klass, _("%(n)s trainees signed off as passed.", n=count))


@bp.get("/skills/classes/<int:class_id>/trainees/<int:trainee_id>/photo")
@role_required("trainer", "admin", "official")
def photo(class_id: int, trainee_id: int):
    klass = _class(class_id)
    trainee = db.get_or_404(Trainee, trainee_id)
    if trainee.class_id != klass.id or not trainee.photo_path:
        abort(404)
    return send_file(Path(current_app.config["MEDIA_ROOT"]) / trainee.photo_path, max_age=0)


@bp.get("/skills/awards")
@role_required("official", "admin")
def awards():
    return _awards_page(request.args.get("region"))


def _awards_page(region_code, error=None, field=None):
    from courses.models import Skill
    from lms.households.models import Member

    region_code = region_code or current_user.region_code or ""
    stmt = (select(SkillAward, Skill.name, Member.name).join(Skill, Skill.id == SkillAward.skill_id)
            .outerjoin(Member, Member.id == SkillAward.member_id)
            .where(in_scope(current_user, SkillAward.region_code)))
    region = db.session.get(Region, region_code) if region_code else None
    if region is not None:
        ensure_in_scope(current_user, region.code)
        stmt = stmt.where(SkillAward.region_code.startswith(region.prefix, autoescape=True))
    rows = db.session.execute(stmt.order_by(SkillAward.id.desc()).limit(200)).all()
    return render_template("skills/awards.html", rows=rows, region=region, evidence=EVIDENCE_LABELS,
                           sources=SOURCE_LABELS, error=error, field=field), (400 if error else 200)


@bp.post("/skills/awards/<int:award_id>/revoke")
@role_required("official", "admin")
def revoke(award_id: int):
    award = db.get_or_404(SkillAward, award_id)
    ensure_in_scope(current_user, award.region_code)
    try:
        services.revoke_award(award, request.form.get("reason", ""), current_user)
    except services.SkillError as exc:
        db.session.rollback()
        return _awards_page(request.form.get("region"), str(exc), f"reason-{award_id}")
    else:
        flash(_("The award was revoked."), "success")
    return redirect(url_for("skills.awards", region=request.form.get("region") or None))
