"""Officials' registry pages (import, list, detail, export) and the village-terminal
pages where learners link to their registry record or register."""
from __future__ import annotations

import io
import os
import time
import uuid

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template,
                   request, send_file, session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_user
from sqlalchemy import select

from lms.accounts.access import role_required
from lms.crypto import mask_id
from lms.extensions import db, limiter
from lms.regions.models import Region
from lms.regions.scope import ensure_in_scope, region_prefix
from lms.settings import get_setting
from lms.spreadsheets.sheet import SheetError

from . import categories as cat
from . import queries, services
from .display import FIELD_LABELS, value_label
from .forms import (AccountForm, ConfirmForm, DiscardForm, LinkForm, MoveForm, PinForm, RegisterForm,
                    RemoveForm, UploadForm)
from .models import Household, HouseholdImport, Member
from .spreadsheet import HEADERS, open_sheet
from .uploads import WORKER_LOST, NotDiscardable, discard, preview_hours, state_label

bp = Blueprint("households", __name__, url_prefix="/households", template_folder="templates",
               static_folder="static")

STAFF = ("official", "admin")
# A shown ID number masks itself again after this long (the view is logged either way).
REVEAL_SECONDS = 60
# Linking checks a name against an ID number: limit guessing per terminal address.
LINK_LIMIT = "20 per 15 minutes"
LINK_PIN_SECONDS = 300


def _filters() -> queries.HouseholdFilters:
    args = request.args
    from lms.regions.picker import deepest_choice

    f = queries.HouseholdFilters(
        region=(args.get("village") or deepest_choice(args.getlist("region")) or "").strip(),
        poverty_status=args.get("poverty_status", ""), household_type=args.get("household_type", ""),
        main_cause=args.get("main_cause", ""), has_laborers=args.get("has_laborers", ""),
        household_no=args.get("household_no", "").strip())
    for value, enum in ((f.poverty_status, cat.PovertyStatus), (f.household_type, cat.HouseholdType),
                        (f.main_cause, cat.Cause)):
        if value and enum.parse(value) is None:
            abort(400)
    return f


def _region_picker(chosen: str):
    from lms.regions.picker import build_picker

    return build_picker("region", region_prefix(current_user) or "", chosen, levels=(3, 4, 5))


@bp.get("/")
@role_required(*STAFF)
def index():
    filters = _filters()
    page = db.paginate(queries.households_query(current_user, filters), per_page=50,
                       error_out=False)
    ids = [h.id for h in page.items]
    heads = queries.heads_of(ids)
    sizes = queries.member_counts(ids)
    laborers = queries.laborer_counts(ids)
    from lms.regions.queries import region_names

    return render_template("households/list.html", page=page, filters=filters, heads=heads,
                           sizes=sizes, laborers=laborers, region_picker=_region_picker(filters.region), cat=cat,
                           village_names=region_names(h.village_code for h in page.items),
                           args={**{k: v for k, v in request.args.items() if k not in ("page", "region")},
                                 **({"region": filters.region} if filters.region else {})})


# (Registered bottom-up: the XLSX rule first, so url_for without ``fmt`` builds it.)
@bp.get("/export.csv", defaults={"fmt": "csv"})
@bp.get("/export.xlsx", defaults={"fmt": "xlsx"})
@role_required(*STAFF)
def export(fmt: str):
    """The filtered list as XLSX (or UTF-8 CSV) with Chinese headers."""
    from .exports import write_households, write_households_csv

    writer = write_households if fmt == "xlsx" else write_households_csv
    path = writer(current_user, _filters())
    try:
        with open(path, "rb") as fh:
            data = io.BytesIO(fh.read())
    finally:
        os.remove(path)
    mimetype = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if fmt == "xlsx"
                else "text/csv; charset=utf-8")
    return send_file(data, as_attachment=True, download_name=f"households.{fmt}", mimetype=mimetype)


def _household_or_404(household_id: int) -> Household:
    household = db.get_or_404(Household, household_id)
    ensure_in_scope(current_user, household.village_code)
    return household


def _member_or_404(member_id: int) -> Member:
    member = db.get_or_404(Member, member_id)
    ensure_in_scope(current_user, member.household.village_code)
    return member


def _detail(household: Household, revealed: dict[int, str] | None = None, status: int = 200,
            move_form: MoveForm | None = None, acting: dict | None = None):
    """The household page. ``acting``: a member action that came back (to confirm a removal, or
    refused): ``{"member": id, "action": "remove"|"account", "reason": …, "error": …}``."""
    from lms.regions.picker import build_picker

    move_form = move_form or MoveForm(formdata=None)
    accounts = queries.accounts_of([m.id for m in household.members])
    laborer_ids = queries.laborer_member_ids(household.id)
    decrypt = services.cipher().decrypt
    masked = {m.id: mask_id(decrypt(m.id_enc)) for m in household.members}
    return render_template(
        "households/detail.html", household=household, members=household.members, masked=masked,
        history=queries.household_history(household.id), accounts=accounts,
        laborer_ids=laborer_ids, revealed=revealed or {}, field_labels=FIELD_LABELS,
        value_label=value_label, remove_form=RemoveForm(), account_form=AccountForm(),
        move_form=move_form, cat=cat, acting=acting or {}, reveal_seconds=REVEAL_SECONDS,
        village_picker=build_picker("village", region_prefix(current_user) or "", move_form.village.data, levels=(5,))), status


@bp.get("/<int:household_id>")
@role_required(*STAFF)
def detail(household_id: int):
    return _detail(_household_or_404(household_id))


@bp.post("/<int:household_id>/move")
@role_required(*STAFF)
def move(household_id: int):
    """Move the household to another village of the official's region (both in scope)."""
    from lms.regions.picker import is_step

    household = _household_or_404(household_id)
    form = MoveForm()
    if is_step(request.form):  # the picker's next level, without JavaScript
        return _detail(household, move_form=form)
    if form.validate_on_submit():
        try:
            services.move_household(household, form.village.data, current_user)
        except services.MoveError as exc:
            form.village.errors.append(str(exc))
        else:
            flash(_("The household now belongs to %(village)s.", village=household.village.name),
                  "success")
            return redirect(url_for(".detail", household_id=household.id))
    db.session.rollback()
    return _detail(db.session.get(Household, household_id), status=422, move_form=form)


@bp.post("/members/<int:member_id>/show-id")
@role_required(*STAFF)
def show_id(member_id: int):
    """The explicit, audited action that shows an unmasked ID number."""
    member = _member_or_404(member_id)
    number = services.reveal_id(member, current_user)
    return _detail(member.household, {member.id: number})


@bp.post("/members/<int:member_id>/remove")
@role_required(*STAFF)
def remove(member_id: int):
    """Removal takes two steps: the reason, then a confirmation naming the person and the reason."""
    member = _member_or_404(member_id)
    form = RemoveForm()
    if not form.validate_on_submit():
        return _detail(member.household, status=400, acting={
            "member": member.id, "action": "remove", "reason": request.form.get("reason", ""),
            "error": _("Give a reason for the removal.")})
    if request.form.get("confirm") != "1":
        return _detail(member.household, acting={"member": member.id, "action": "confirm_remove",
                                                 "reason": form.reason.data.strip()})
    services.remove_member(member, form.reason.data, current_user)
    flash(_("%(name)s is marked as removed from the registry.", name=member.name), "success")
    return redirect(url_for(".detail", household_id=member.household_id))


@bp.post("/members/<int:member_id>/account")
@role_required(*STAFF)
def account(member_id: int):
    """Create the member's learner account, or reset its PIN."""
    member = _member_or_404(member_id)
    form = AccountForm()
    if not form.validate_on_submit():
        # The PIN itself is not shown again (it is a secret); the field is marked.
        return _detail(member.household, status=400, acting={
            "member": member.id, "action": "account", "error": _("A PIN is exactly 6 digits.")})
    elif member.removed_at is not None:
        flash(_("%(name)s has been removed from the registry.", name=member.name), "error")
    else:
        try:
            services.set_member_account(member, form.pin.data, current_user)
            flash(_("The learner account of %(name)s is ready: they sign in with their ID number "
                    "and this PIN.", name=member.name), "success")
        except services.LinkError as exc:
            flash(str(exc), "error")
    return redirect(url_for(".detail", household_id=member.household_id))


def _upload_dir() -> str:
    path = os.path.join(current_app.config["IMPORT_ROOT"], "households")
    os.makedirs(path, exist_ok=True)
    return path


@bp.route("/import", methods=["GET", "POST"])
@role_required(*STAFF)
def upload():
    """Step 1: upload; then the detected encoding, header row, mapping and first rows."""
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        if _too_large(upload):
            form.file.errors.append(_("The file is larger than %(mb)s MB.", mb=get_setting("households_max_upload_mb")))
            return render_template("households/upload.html", form=form,
                                   imports=queries.imports_for(current_user), state_label=state_label), 413
        name = os.path.basename(upload.filename or "export.csv")[:200]
        ext = ".xlsx" if name.lower().endswith(".xlsx") else ".csv"
        stored = os.path.join(_upload_dir(), uuid.uuid4().hex + ext)
        upload.save(stored)
        try:
            sheet = open_sheet(stored, name)
            preview = sheet.preview(5)
        except SheetError as exc:
            os.remove(stored)
            from .messages import message
            form.file.errors.append(message(exc.code, exc.params))
            return render_template("households/upload.html", form=form,
                                   imports=queries.imports_for(current_user),
                                   state_label=state_label), 422
        rec = HouseholdImport(user_id=current_user.id, filename=name, stored_path=stored,
                              status="uploaded")
        db.session.add(rec)
        db.session.flush()
        columns = sorted((i, f) for f, i in sheet.mapping.items())
        mapping = [(sheet.headers[i], HEADERS[f][0]) for i, f in columns]
        rows = [(number, [_preview_cell(f, cells[i] if i < len(cells) else "")
                          for i, f in columns]) for number, cells in preview]
        return render_template("households/preview.html", rec=rec, sheet=sheet, rows=rows,
                               mapping=mapping, form=ConfirmForm(), discard_form=DiscardForm(),
                               hours=preview_hours())
    return render_template("households/upload.html", form=form,
                           imports=queries.imports_for(current_user), state_label=state_label)


def _too_large(upload) -> bool:
    """The upload's size, measured on the spooled file (not its header), against the setting."""
    stream = upload.stream
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size > int(get_setting("households_max_upload_mb")) * 1024 * 1024


def _preview_cell(field: str, value) -> str:
    value = str(value).strip()
    return mask_id(value) if field in ("id_number", "head_id_number") else value


def _import_or_404(import_id: int) -> HouseholdImport:
    rec = db.get_or_404(HouseholdImport, import_id)
    if rec.user_id != current_user.id and not current_user.has_role("admin"):
        abort(404)
    return rec


@bp.post("/import/<int:import_id>/confirm")
@role_required(*STAFF)
def confirm(import_id: int):
    """Step 2: the official confirms; the import runs as a job."""
    from lms.queue import enqueue

    from .tasks import run_import

    rec = _import_or_404(import_id)
    form = ConfirmForm()
    if rec.status != "uploaded" or not form.validate_on_submit():
        abort(409)
    rec.status, rec.strict = "queued", form.strict.data
    rec.create_regions, rec.dry_run = form.create_regions.data, form.dry_run.data
    enqueue(run_import, rec.id)  # committed with "queued": the worker relays it, Redis or not
    db.session.commit()
    return redirect(url_for(".import_status", import_id=rec.id))


@bp.post("/import/<int:import_id>/discard")
@role_required(*STAFF)
def discard_import(import_id: int):
    """The official drops a previewed upload; its file is removed."""
    rec = _import_or_404(import_id)
    if not DiscardForm().validate_on_submit():
        abort(400)
    try:
        discard(rec, current_user)
    except NotDiscardable:
        flash(_("Only an upload still waiting for confirmation can be discarded."), "error")
        return redirect(url_for(".import_status", import_id=rec.id))
    flash(_("The upload of %(name)s was discarded; nothing was imported.", name=rec.filename),
          "success")
    return redirect(url_for(".upload"))


@bp.get("/import/<int:import_id>")
@role_required(*STAFF)
def import_status(import_id: int):
    rec = _import_or_404(import_id)
    lost = rec.status == "failed" and (rec.report or {}).get("failure") == WORKER_LOST
    from lms.spreadsheets.report import grouped

    return render_template("households/import.html", rec=rec, progress=_progress(rec), grouped=grouped,
                           state=state_label(rec.status), lost=lost, discard_form=DiscardForm(),
                           hours=preview_hours())


@bp.get("/import/<int:import_id>/progress.json")
@role_required(*STAFF)
def import_progress(import_id: int):
    rec = _import_or_404(import_id)
    return jsonify(status=rec.status, state=state_label(rec.status), progress=_progress(rec),
                   rows_total=rec.rows_total)


def _progress(rec: HouseholdImport) -> dict:
    from .tasks import read_progress

    done = rec.rows_done if rec.status == "done" else (read_progress(rec.stored_path) or 0)
    total = rec.rows_total or 0
    return {"done": done, "total": total,
            "percent": 100 if rec.status == "done" else (min(99, done * 100 // total) if total else 0)}


# The village terminal: link to the registry, or register outside it.

def _field_error(form, exc, default: str) -> None:
    """The refusal goes under the field it concerns (the ID number unless it says otherwise)."""
    field = getattr(form, exc.field or default, None) or getattr(form, default)
    field.errors.append(str(exc))

def _sign_in(user) -> None:
    from lms.accounts.services import note_signin

    session.clear()  # a shared terminal: nothing of the previous person stays
    login_user(user)
    note_signin(user)


@bp.route("/link", methods=["GET", "POST"])
@limiter.limit(LINK_LIMIT, methods=["POST"])
def link():
    """Step 1 at a village terminal: ID number + name → the registry record."""
    form = LinkForm()
    if form.validate_on_submit():
        try:
            member = services.find_member_to_link(form.id_number.data, form.name.data)
        except services.LinkError as exc:
            _field_error(form, exc, "id_number")
            return render_template("households/link.html", form=form), 422
        session["link_member"] = [member.id, time.time()]
        return redirect(url_for(".link_pin"))
    return render_template("households/link.html", form=form)


@bp.route("/link/pin", methods=["GET", "POST"])
def link_pin():
    """Step 2: choose a 6-digit PIN; the account is created and signed in."""
    pending = session.get("link_member")
    # A shared terminal: a half-finished link expires before the next person sits down.
    fresh = pending and time.time() - pending[1] < LINK_PIN_SECONDS
    member = db.session.get(Member, pending[0]) if fresh else None
    if member is None:
        session.pop("link_member", None)
        return redirect(url_for(".link"))
    form = PinForm()
    if form.validate_on_submit():
        try:
            if services.member_account(member) is not None:
                raise services.LinkError(_("This ID number already has a learner account. Sign "
                                           "in with your PIN, or ask the village official to "
                                           "reset it."))
            user = services.create_member_account(member, form.pin.data)
        except services.LinkError as exc:
            _field_error(form, exc, "pin")
            return render_template("households/link_pin.html", form=form, member=member), 422
        _sign_in(user)
        from lms.accounts.terminals import current_terminal

        if current_terminal() is not None:  # here the sign-in page is the village's list of names
            flash(_("Welcome, %(name)s. Next time tap your name in the list, then enter your PIN.",
                    name=member.name), "success")
        else:
            flash(_("Welcome, %(name)s. Next time sign in with your ID number and PIN.",
                    name=member.name), "success")
        return redirect(url_for("main.index"))
    return render_template("households/link_pin.html", form=form, member=member)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(LINK_LIMIT, methods=["POST"])
def register():
    """A learner who is not in a registered household.

    The village is chosen step by step (city → county → township → village, one short list per
    page, links only, so it works without JavaScript at province scale); a registered village
    terminal skips the choice: its own village is used.
    """
    from lms.accounts.terminals import current_terminal
    from lms.regions.queries import ancestors_of

    form = RegisterForm()
    terminal = current_terminal()
    if terminal is not None:
        form.village.data = terminal.region_code
    elif request.method == "GET":
        form.village.data = request.args.get("village", "")
    village = db.session.get(Region, form.village.data or "")
    if village is None or village.level != 5:
        if request.method == "POST":
            return _village_picker("", error=_("Choose your village.")), 422
        return _village_picker(request.args.get("area", ""))
    if form.validate_on_submit():
        try:
            user = services.register_learner(form.identifier.data, form.name.data,
                                             village.code, form.pin.data)
        except services.LinkError as exc:
            _field_error(form, exc, "identifier")
            return render_template("households/register.html", form=form, village=village,
                                   chain=ancestors_of(village), fixed=terminal is not None), 422
        _sign_in(user)
        if terminal is not None:
            flash(_("Welcome, %(name)s. Next time tap your name in the list, then enter your PIN.",
                    name=user.display_name), "success")
        else:
            flash(_("Welcome, %(name)s. Next time sign in with your phone or ID number and PIN.",
                    name=user.display_name), "success")
        return redirect(url_for("main.index"))
    return render_template("households/register.html", form=form, village=village,
                           chain=ancestors_of(village), fixed=terminal is not None)


def _village_picker(area_code: str, error: str | None = None):
    """One step of the village choice: the regions directly under ``area_code`` (or the top)."""
    from lms.regions.queries import ancestors_of, children_of

    area = db.session.get(Region, area_code) if area_code else None
    if area is not None and area.level < 5:
        options, chain = children_of(area.code), ancestors_of(area)
    else:
        options = list(db.session.scalars(select(Region).where(Region.parent_code.is_(None))
                                          .order_by(Region.code)))
        chain = []
    if len(options) == 1 and options[0].level < 5:
        return _village_picker(options[0].code, error)  # one province or one city: nothing to choose
    return render_template("households/register_village.html", options=options, chain=chain, error=error)
