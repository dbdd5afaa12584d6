"""Proposing a batch (台账): every eligible person of a township not yet paid for the strand and
period, with the evidence and the amount from the rule; the excluded ones with their reason. The
unique index over claiming rows (``uq_subsidy_rows_claim``) decides between two officials proposing
the same person at the same moment: the loser's proposal is recomputed without them."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lms.audit import record
from lms.db import writing_from_here
from lms.errors import FieldError
from lms.extensions import db
from lms.regions.scope import region_prefix, require_in_scope
from lms.subsidies import eligibility
from lms.subsidies.models import STRANDS, Account, Batch, Row
from lms.subsidies.money import yuan
from lms.subsidies.rules import period_range, versions

EXCLUSIONS = {
    "no_account": _l("No payment account for the household"),
    "already_paid": _l("Already paid, or in another batch, for this strand and period"),
    "rule_not_met": _l("Does not meet the rule"),
}
DETAILS = {
    "age": _l("age outside the rule's range at the date of the result"),
    "category": _l("the household no longer enjoys the policy"),
    "no_rule": _l("no rule valid at the date of the result"),
    "removed": _l("removed from the registry"),
    "paid": _l("paid"),
    "in_batch": _l("in another batch"),
}


class BatchError(FieldError):
    """The request cannot be done as asked; ``str()`` is for the person, ``field`` the form field at fault."""


@dataclass
class Proposal:
    rows: list[dict] = field(default_factory=list)
    excluded: list[dict] = field(default_factory=list)


def staff_level_ok(actor, max_digits: int) -> bool:
    """An admin, the system (None), or an official whose region is at most ``max_digits`` long
    (9: a township or above; 6: a county or above)."""
    if actor is None or actor.has_role("admin"):
        return True
    prefix = region_prefix(actor)
    return actor.has_role("official") and prefix is not None and len(prefix) <= max_digits


def propose(region, strand: str, period: str) -> Proposal:
    rules = versions(strand)
    if not rules:
        raise BatchError(_("No rule is set for this strand."), "strand")
    per = rules[0].per
    start, end = period_range(period, per)
    programmes = {r.programme_id for r in rules}
    evidence_kinds = sorted({r.evidence for r in rules})
    found: dict[int, list[eligibility.Candidate]] = {}
    members = eligibility.township_members(region.prefix)
    for kind in evidence_kinds:
        for c in eligibility.candidates(kind, region.prefix, start, end, programmes, period, members):
            found.setdefault(c.member_id, []).append(c)
    # Claims by the person, wherever the claiming row was made (a household that moved in).
    claimed = _claims(strand, period, sorted(found))
    from lms.households.models import Household

    accounts = dict(db.session.execute(
        select(Account.household_id, Account.id).join(Household, Household.id == Account.household_id)
        .where(Account.current.is_(True), eligibility.in_region(Household.village_code, region.prefix))
    ).all()) if found else {}
    proposal = Proposal()
    for member_id in sorted(found):
        if member_id in claimed:
            proposal.excluded.append({"member": member_id, "reason": "already_paid",
                                      "detail": "paid" if claimed[member_id] == "paid" else "in_batch"})
            continue
        c, rule, why = _first_qualifying(found[member_id], rules)
        if rule is None:
            proposal.excluded.append({"member": member_id, "reason": "rule_not_met", "detail": why})
            continue
        account_id = accounts.get(c.household_id)
        if account_id is None:
            proposal.excluded.append({"member": member_id, "reason": "no_account", "detail": None})
            continue
        proposal.rows.append({"member_id": member_id, "household_id": c.household_id, "village_code": c.village_code,
                              "strand": strand, "period": period, "rule_id": rule.id, "amount_fen": rule.amount_fen,
                              "evidence": rule.evidence, "evidence_ref": c.ref, "evidence_title": c.title[:200],
                              "certificate_number": c.certificate_number[:64], "result_on": c.result_on,
                              "account_id": account_id, "status": "proposed", "reason": "", "held": False,
                              "bank_message": ""})
    return proposal


def _first_qualifying(evidence: list[eligibility.Candidate], rules):
    """(candidate, rule, None) for the person's earliest result that meets the rule of its day; when
    none does, (the earliest, None, why that one does not)."""
    evidence.sort(key=lambda c: (c.result_on, c.ref))
    first_why = None
    for c in evidence:
        rule, why = eligibility.check(c, rules)
        if rule is not None:
            return c, rule, None
        first_why = first_why or why
    return evidence[0], None, first_why


def _insert_rows(rows: list[dict]) -> None:
    """A batch's rows in one go: COPY on PostgreSQL, Core executemany on SQLite (no ORM per row)."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(Row.__table__.insert(), rows)
        return
    columns = list(rows[0])
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY subsidy_rows ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])


def _claims(strand: str, period: str, member_ids: list[int]) -> dict[int, str]:
    """Who of these people already has a claiming row for the strand and period (the statuses are
    written out, so the claim index, a partial index, answers it)."""
    from sqlalchemy import text

    claims = text("subsidy_rows.status IN ('proposed', 'certified', 'payable', 'paid')")
    out: dict[int, str] = {}
    for start in range(0, len(member_ids), eligibility.CHUNK):
        out.update(db.session.execute(select(Row.member_id, Row.status).where(
            Row.member_id.in_(member_ids[start:start + eligibility.CHUNK]), Row.strand == strand,
            Row.period == period, claims)).all())
    return out


def create_batch(actor, region_code: str, strand: str, period: str) -> tuple[Batch, Proposal]:
    """Create a draft batch for a township (audited). Retries its proposal when another official's
    batch took some of the same people first (the claim index refused ours)."""
    from lms.regions.models import Region

    if strand not in STRANDS:
        raise BatchError(_("Unknown strand: choose 短期技能培训 or 职业教育."), "strand")
    region = db.session.get(Region, region_code or "")
    if region is None or region.level != 4:
        raise BatchError(_("A batch is made for a township: choose a township."), "region")
    require_in_scope(actor, region.code)
    if not staff_level_ok(actor, 9):
        raise BatchError(_("Only a township (or higher) official creates a batch."))
    writing_from_here(db.session)  # SQLite: a second official's batch waits for this one
    for _attempt in range(5):
        proposal = propose(region, strand, period)
        try:
            with db.session.begin_nested():
                batch = Batch(region_code=region.code, strand=strand, period=period, status="draft",
                              excluded=proposal.excluded, created_by_id=getattr(actor, "id", None))
                db.session.add(batch)
                db.session.flush()
                if proposal.rows:
                    for row in proposal.rows:
                        row["batch_id"] = batch.id
                    _insert_rows(proposal.rows)
        except IntegrityError:
            continue
        except Exception as exc:  # COPY's own unique violation (psycopg's, not wrapped by SQLAlchemy)
            if getattr(exc, "sqlstate", None) != "23505":
                raise
            continue
        record(actor, "subsidies.batch_create", target(batch), {
            "region": region.code, "strand": strand, "period": period, "rows": len(proposal.rows),
            "total_yuan": yuan(sum(r["amount_fen"] for r in proposal.rows)), "excluded": len(proposal.excluded)})
        return batch, proposal
    raise BatchError(_("Other batches kept changing the same people; try again."))


def batch_json(batch: Batch) -> dict:
    from sqlalchemy import func

    count, total = db.session.execute(select(func.count(Row.id), func.coalesce(func.sum(Row.amount_fen), 0)).where(
        Row.batch_id == batch.id, Row.status != "excluded")).one()
    return {"batch": batch.id, "status": batch.status, "region": batch.region_code, "strand": batch.strand,
            "period": batch.period, "rows": count, "total_yuan": yuan(total),
            "excluded": [{k: e[k] for k in ("member", "reason")} | ({"detail": e["detail"]} if e.get("detail") else {})
                         for e in batch.excluded or []]}


def target(batch: Batch) -> str:
    """The audit target of everything done to a batch and its rows (its history page reads these)."""
    return f"SubsidyBatch:{batch.id}"
