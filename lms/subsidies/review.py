"""The review chain (DOMAIN.md §6): the village certifies (核实) or excludes each row → the township
submits → the county approves (not the submitter: four eyes) → public notice (公示) for the setting's
days → objections (异议) hold rows → when the notice ends, unheld rows become payable. Each step is
audited against the batch (its history page). Services flush, never commit."""
from __future__ import annotations

import datetime as dt
import secrets

from flask_babel import gettext as _
from sqlalchemy import select, update

from lms.audit import record
from lms.db import utcnow
from lms.extensions import db
from lms.regions.scope import code_in_scope, require_in_scope
from lms.subsidies.batches import BatchError, staff_level_ok, target
from lms.subsidies.models import OUTCOMES, Batch, Objection, Row


def today() -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _staff(actor) -> None:
    if actor is not None and not actor.has_role("official", "admin"):
        raise BatchError(_("Only officials take part in the review."))


def _rows(batch: Batch, row_ids) -> list[Row]:
    ids = [int(i) for i in row_ids]
    rows = list(db.session.scalars(select(Row).where(Row.batch_id == batch.id, Row.id.in_(ids)))) if ids else []
    if len(rows) != len(set(ids)):
        raise BatchError(_("Some of the chosen rows are not in this batch."))
    return rows


def certify(actor, batch: Batch, row_ids) -> int:
    """The village confirms rows (核实). Every row must lie in the actor's region."""
    _staff(actor)
    if batch.status != "draft":
        raise BatchError(_("Rows are certified while the batch is with the villages."))
    rows = _rows(batch, row_ids)
    require_in_scope(actor, *[r.village_code for r in rows])
    changed = [r for r in rows if r.status != "certified"]
    for row in changed:
        row.status, row.reason, row.certified_by_id = "certified", "", getattr(actor, "id", None)
    db.session.flush()
    if changed:
        record(actor, "subsidies.rows_certify", target(batch), {"rows": [r.id for r in changed]})
    return len(changed)


def exclude(actor, batch: Batch, row_id: int, reason: str) -> Row:
    """The village takes a row out, with the reason (the row stays, excluded)."""
    _staff(actor)
    if batch.status != "draft":
        raise BatchError(_("Rows are excluded while the batch is with the villages."))
    (row,) = _rows(batch, [row_id])
    require_in_scope(actor, row.village_code)
    reason = (reason or "").strip()
    if not reason:
        raise BatchError(_("Give the reason for excluding this person."))
    row.status, row.reason, row.certified_by_id = "excluded", reason[:200], getattr(actor, "id", None)
    db.session.flush()
    record(actor, "subsidies.row_exclude", target(batch), {"row": row.id, "member": row.member_id,
                                                           "reason": reason[:200]})
    return row


def submit(actor, batch: Batch) -> None:
    """The township has reviewed the villages' work and sends the batch to the county."""
    _staff(actor)
    require_in_scope(actor, batch.region_code)
    if not staff_level_ok(actor, 9):
        raise BatchError(_("Only a township (or higher) official submits a batch."))
    if batch.status != "draft":
        raise BatchError(_("This batch has already been submitted."))
    waiting = db.session.scalar(select(Row.id).where(Row.batch_id == batch.id, Row.status == "proposed").limit(1))
    if waiting is not None:
        raise BatchError(_("Every row must be certified or excluded by its village before the batch is submitted."))
    batch.status, batch.submitted_by_id, batch.submitted_at = "submitted", getattr(actor, "id", None), utcnow()
    db.session.flush()
    record(actor, "subsidies.batch_submit", target(batch), {})


def approve(actor, batch: Batch, on: dt.date | None = None) -> int:
    """The county approves (never the person who submitted) and the public notice opens. Evidence
    is checked again: a certificate revoked, or a class result changed to a fail, since the proposal
    takes its row out. Returns how many rows were taken out."""
    from lms.settings import get_setting
    from lms.subsidies.eligibility import still_valid

    _staff(actor)
    if actor is None:
        raise BatchError(_("Approval is given by a person (--by), never by the system."))
    require_in_scope(actor, batch.region_code)
    if not staff_level_ok(actor, 6):
        raise BatchError(_("Only a county (or higher) official approves a batch."))
    if batch.status != "submitted":
        raise BatchError(_("Only a submitted batch can be approved."))
    if batch.submitted_by_id == actor.id:
        raise BatchError(_("The person who submitted a batch cannot approve it: another official must."))
    rows = list(db.session.scalars(select(Row).where(Row.batch_id == batch.id, Row.status == "certified")))
    valid = still_valid([r.evidence_ref for r in rows])
    dropped = [r for r in rows if r.evidence_ref not in valid]
    for row in dropped:
        row.status, row.reason = "excluded", _("The certificate or class result was withdrawn before approval.")
    on = on or today()
    batch.status, batch.approved_by_id, batch.approved_at = "notice", actor.id, utcnow()
    batch.notice_token = secrets.token_urlsafe(18)
    batch.notice_from = on
    batch.notice_until = on + dt.timedelta(days=int(get_setting("subsidies.notice_days")))
    db.session.flush()
    record(actor, "subsidies.batch_approve", target(batch), {
        "notice_from": on.isoformat(), "notice_until": batch.notice_until.isoformat(),
        "revoked_rows": [r.id for r in dropped]})
    return len(dropped)


def raise_objection(actor, batch: Batch, row_id: int, text: str) -> Objection:
    """An objection (异议) during the notice: the row is held until it is settled."""
    _staff(actor)
    if batch.status != "notice":
        raise BatchError(_("Objections are recorded while the list is on public notice."))
    (row,) = _rows(batch, [row_id])
    require_in_scope(actor, row.village_code)
    if row.status != "certified":
        raise BatchError(_("This row is not on the public notice."))
    text = (text or "").strip()
    if not text:
        raise BatchError(_("Write what the objection says."))
    objection = Objection(row_id=row.id, text=text[:2000], raised_by_id=getattr(actor, "id", None))
    row.held = True
    db.session.add(objection)
    db.session.flush()
    record(actor, "subsidies.objection_raise", target(batch), {"row": row.id, "objection": objection.id})
    return objection


def settle(actor, objection: Objection, outcome: str, text: str) -> None:
    """Record the investigation's outcome: upheld takes the row out; dismissed releases it (payable
    at once when the notice has already ended)."""
    _staff(actor)
    row = objection.row
    batch = row.batch
    require_in_scope(actor, row.village_code)
    if not staff_level_ok(actor, 9):
        raise BatchError(_("Objections are settled by the township or the county."))
    if outcome not in OUTCOMES:
        raise BatchError(_("Choose the outcome of the investigation."))
    if objection.outcome is not None:
        raise BatchError(_("This objection has already been settled."))
    text = (text or "").strip()
    if not text:
        raise BatchError(_("Write what the investigation found."))
    objection.outcome, objection.outcome_text = outcome, text[:2000]
    objection.settled_by_id, objection.settled_at = getattr(actor, "id", None), utcnow()
    open_objection = db.session.scalar(select(Objection.id).where(
        Objection.row_id == row.id, Objection.outcome.is_(None), Objection.id != objection.id).limit(1))
    if outcome == "upheld":
        row.status, row.reason, row.held = "excluded", text[:200], False
    elif open_objection is None:
        row.held = False
        if batch.status == "payable" and row.status == "certified":
            row.status = "payable"
    db.session.flush()
    record(actor, "subsidies.objection_settle", target(batch), {"row": row.id, "objection": objection.id,
                                                                "outcome": outcome})


def end_notice(actor, batch: Batch, on: dt.date | None = None) -> int:
    """After the notice period, unheld certified rows become payable. Returns how many."""
    _staff(actor)
    require_in_scope(actor, batch.region_code)
    on = on or today()
    if batch.status != "notice":
        raise BatchError(_("This batch is not on public notice."))
    if on < batch.notice_until:
        raise BatchError(_("The public notice runs until %(day)s.",
                           day=(batch.notice_until - dt.timedelta(days=1)).isoformat()))
    result = db.session.execute(update(Row).where(Row.batch_id == batch.id, Row.status == "certified",
                                                  Row.held.is_(False)).values(status="payable"))
    batch.status = "payable"
    db.session.flush()
    record(actor, "subsidies.notice_end", target(batch), {"payable": result.rowcount})
    return result.rowcount


def end_due_notices(on: dt.date | None = None) -> int:
    """The daily job: every batch whose notice has ended moves on."""
    on = on or today()
    batches = list(db.session.scalars(select(Batch).where(Batch.status == "notice", Batch.notice_until <= on)))
    for batch in batches:
        end_notice(None, batch, on)
    return len(batches)


def visible_to(actor, batch: Batch) -> bool:
    """Officials of the township, its villages (their own rows) and above; admins."""
    if actor is None or actor.has_role("admin"):
        return True
    if not actor.has_role("official") or not actor.region_code:
        return False
    return code_in_scope(actor, batch.region_code) or actor.region_code.startswith(batch.region.prefix)
