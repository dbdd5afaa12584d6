"""The officials' pages of the review chain: batches of their region, a batch with its rows and the
steps their role may take, the history, the printable notice per village and the public notice page
(by its token, no sign-in). Everything out of the user's region is a 404; every change is audited by
the services and CSRF-protected."""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from lms.accounts.access import role_required
from lms.extensions import db
from lms.subsidies import queries, review
from lms.subsidies.batches import DETAILS, EXCLUSIONS, BatchError, create_batch, staff_level_ok
from lms.subsidies.models import OUTCOMES, ROW_STATES, STRANDS, Batch, Objection
from lms.subsidies.money import yuan_display
from lms.subsidies.rules import RuleError

bp = Blueprint("subsidies", __name__, template_folder="templates")
STAFF = ("official", "admin")


@bp.app_template_filter("yuan")
def yuan_filter(fen) -> str:
    return yuan_display(fen)


def masked_ids(member_ids) -> dict[int, str]:
    """The one ID mask (first 6 + last 4) for each member shown."""
    from lms.crypto import mask_id
    from lms.households.models import Member
    from lms.households.services import cipher

    ids = list(set(member_ids))
    if not ids:
        return {}
    decrypt = cipher().decrypt
    return {m_id: mask_id(decrypt(enc)) for m_id, enc in db.session.execute(
        select(Member.id, Member.id_enc).where(Member.id.in_(ids)))}


def _batch_or_404(batch_id: int) -> Batch:
    batch = db.get_or_404(Batch, batch_id)
    if not review.visible_to(current_user, batch):
        abort(404)
    return batch


def _townships():
    """The townships the user may make a batch for."""
    from lms.regions.models import Region
    from lms.regions.scope import in_scope

    if not staff_level_ok(current_user, 9):
        return []
    return list(db.session.scalars(select(Region).where(Region.level == 4, in_scope(current_user, Region.code))
                                   .order_by(Region.code).limit(500)))


def _render_index(status: int = 200, error: str | None = None, field: str | None = None, form=None):
    return render_template("subsidies/index.html", batches=queries.batches_for(current_user),
                           townships=_townships(), strands=STRANDS, error=error, field=field,
                           form=form or {}), status


@bp.get("/subsidies")
@role_required(*STAFF)
def index():
    return _render_index()


@bp.post("/subsidies/batches")
@role_required(*STAFF)
def create():
    form = request.form
    try:
        batch, proposal = create_batch(current_user, form.get("region", ""), form.get("strand", ""),
                                        form.get("period", "").strip())
    except (BatchError, RuleError) as exc:
        db.session.rollback()
        return _render_index(400, str(exc), exc.field, form)
    db.session.commit()
    flash(_("Batch created: %(rows)d people, %(total)s yuan; %(excluded)d not proposed (see the list).",
            rows=len(proposal.rows), total=yuan_display(sum(r["amount_fen"] for r in proposal.rows)),
            excluded=len(proposal.excluded)), "success")
    return redirect(url_for(".batch", batch_id=batch.id), 303)


def _excluded_people(batch: Batch) -> list[dict]:
    from lms.households.models import Household, Member
    from lms.regions.scope import in_scope

    entries = {e["member"]: e for e in batch.excluded or []}
    if not entries:
        return []
    people = db.session.execute(select(Member.id, Member.name, Household.village_code).join(Member.household)
                                .where(Member.id.in_(list(entries)), in_scope(current_user, Household.village_code)))
    masks = masked_ids(entries)
    return [{"name": name, "masked": masks.get(m_id, ""), "village": village,
             "reason": EXCLUSIONS[entries[m_id]["reason"]],
             "detail": DETAILS.get(entries[m_id].get("detail") or "", "")} for m_id, name, village in people]


# A batch page lists every row up to this many; a larger one (a township of many villages) lists its
# villages with their counts, and each village's rows on their own page (?village=CODE): a page for a
# weak link, and what a village's certification is done from anyway.
PAGE_ROWS = 200


def _village_shown(counts: list[dict]) -> str | None:
    village = (request.args.get("village") or "").strip()
    if not village:
        return None
    if village not in {v["code"] for v in counts}:
        abort(404)
    return village


def render_batch(batch: Batch, status: int = 200, error: str | None = None, form=None, error_row: int | None = None):
    counts = queries.village_counts(current_user, batch)
    village = _village_shown(counts)
    listed = village is not None or sum(v["people"] for v in counts) <= PAGE_ROWS
    rows = queries.rows_for(current_user, batch, village) if listed else []
    objections = queries.objections_of(rows)
    villages = {v["code"]: v["name"] for v in counts}
    return render_template(
        "subsidies/batch.html", batch=batch, rows=rows, masks=masked_ids(r.member_id for r in rows),
        villages=villages, village_counts=counts, village=village, listed=listed,
        open_items=[(r, o) for r in rows for o in objections.get(r.id, [])], summary=queries.summary(batch),
        excluded=[e for e in _excluded_people(batch) if e["village"] == village] if village else
        _excluded_people(batch) if listed else [], row_states=ROW_STATES, outcomes=OUTCOMES, error=error, form=form or {},
        error_row=error_row, can_submit=staff_level_ok(current_user, 9), can_approve=staff_level_ok(current_user, 6),
        today=review.today(), notice_last=_notice_last(batch)), status


def _notice_last(batch: Batch):
    import datetime as dt

    return batch.notice_until - dt.timedelta(days=1) if batch.notice_until else None


@bp.get("/subsidies/batches/<int:batch_id>")
@role_required(*STAFF)
def batch(batch_id: int):
    return render_batch(_batch_or_404(batch_id))


def _step(batch: Batch, do, done: str, error_row: int | None = None):
    """Run one review step in one transaction: refused → the page again with the message (400)."""
    from lms.regions.scope import OutOfScope

    try:
        do()
    except OutOfScope:
        db.session.rollback()
        abort(404)
    except BatchError as exc:
        db.session.rollback()
        return render_batch(batch, 400, str(exc), request.form, error_row)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for(".batch", batch_id=batch.id, village=request.args.get("village") or None), 303)


@bp.post("/subsidies/batches/<int:batch_id>/certify")
@role_required(*STAFF)
def certify(batch_id: int):
    batch = _batch_or_404(batch_id)
    ids = [v for v in request.form.getlist("row") if v.isdigit() and len(v) <= 12]
    if not ids:
        return render_batch(batch, 400, _("Select at least one row."), request.form)
    return _step(batch, lambda: review.certify(current_user, batch, ids), _("The selected rows are certified."))


@bp.post("/subsidies/batches/<int:batch_id>/rows/<int:row_id>/exclude")
@role_required(*STAFF)
def exclude(batch_id: int, row_id: int):
    batch = _batch_or_404(batch_id)
    return _step(batch, lambda: review.exclude(current_user, batch, row_id, request.form.get("reason", "")),
                 _("The row is excluded."), row_id)


@bp.post("/subsidies/batches/<int:batch_id>/submit")
@role_required(*STAFF)
def submit(batch_id: int):
    batch = _batch_or_404(batch_id)
    return _step(batch, lambda: review.submit(current_user, batch), _("The batch is submitted to the county."))


@bp.post("/subsidies/batches/<int:batch_id>/approve")
@role_required(*STAFF)
def approve(batch_id: int):
    batch = _batch_or_404(batch_id)
    return _step(batch, lambda: review.approve(current_user, batch),
                 _("The batch is approved; the public notice is open."))


@bp.post("/subsidies/batches/<int:batch_id>/end-notice")
@role_required(*STAFF)
def end_notice(batch_id: int):
    batch = _batch_or_404(batch_id)
    return _step(batch, lambda: review.end_notice(current_user, batch),
                 _("The public notice has ended: the rows without objection are payable."))


@bp.post("/subsidies/batches/<int:batch_id>/rows/<int:row_id>/objection")
@role_required(*STAFF)
def objection(batch_id: int, row_id: int):
    batch = _batch_or_404(batch_id)
    return _step(batch, lambda: review.raise_objection(current_user, batch, row_id, request.form.get("text", "")),
                 _("The objection is recorded; the row is held."), row_id)


@bp.post("/subsidies/objections/<int:objection_id>/settle")
@role_required(*STAFF)
def settle(objection_id: int):
    item = db.get_or_404(Objection, objection_id)
    batch = _batch_or_404(item.row.batch_id)
    return _step(batch, lambda: review.settle(current_user, item, request.form.get("outcome", ""),
                                              request.form.get("outcome_text", "")),
                 _("The objection is settled."), item.row_id)


@bp.get("/subsidies/batches/<int:batch_id>/history")
@role_required(*STAFF)
def history(batch_id: int):
    batch = _batch_or_404(batch_id)
    from lms.subsidies.labels import ACTIONS, detail_lines

    return render_template("subsidies/history.html", batch=batch, entries=queries.batch_history(batch),
                           actions=ACTIONS, detail_lines=detail_lines)


def _qr(url: str) -> Markup:
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=6, border=2)
    return Markup(img.to_string(encoding="unicode"))


def _notice(batch: Batch, village: str | None, printable: bool):
    from lms.regions.models import Region

    rows = queries.notice_rows(batch, village)
    names = {r.code: r.name for r in db.session.scalars(select(Region).where(
        Region.code.in_({row.village_code for row in rows} | {batch.region_code})))}
    public_url = url_for(".public_notice", token=batch.notice_token, _external=True)
    return render_template("subsidies/notice.html", batch=batch, rows=rows, masks=masked_ids(r.member_id for r in rows),
                           names=names, village=village, printable=printable, qr=_qr(public_url),
                           public_url=public_url, total=sum(r.amount_fen for r in rows),
                           notice_last=_notice_last(batch))


@bp.get("/subsidies/batches/<int:batch_id>/notice")
@role_required(*STAFF)
def notice(batch_id: int):
    """The printable notice of one village (name, masked ID, course, amount; never an account)."""
    batch = _batch_or_404(batch_id)
    village = (request.args.get("village") or "").strip()
    if batch.notice_token is None:
        abort(404)
    if village and not re.fullmatch(r"\d{12}", village):
        abort(404)
    from lms.regions.scope import ensure_in_scope

    if village:
        ensure_in_scope(current_user, village)
    return _notice(batch, village or None, True)


@bp.get("/subsidies/notice/<token>")
def public_notice(token: str):
    """The public page behind the notice's QR code: the same list, for anyone."""
    if not re.fullmatch(r"[\w-]{10,40}", token or ""):
        abort(404)
    batch = db.session.scalar(select(Batch).where(Batch.notice_token == token))
    if batch is None:
        abort(404)
    return _notice(batch, None, False)


