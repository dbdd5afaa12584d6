"""The officials' view of the money (精准到户): approved, paid and outstanding per region, strand and
period, rolled up from the rows by code prefix; per household at a village. Approved = rows on or
past the public notice (certified, payable, paid) of approved batches; outstanding = approved − paid."""
from __future__ import annotations

from sqlalchemy import func, select

from lms.extensions import db
from lms.subsidies.eligibility import in_region
from lms.subsidies.models import Batch, Row
from lms.subsidies.money import yuan

APPROVED = ("certified", "payable", "paid")


def _base(prefix: str):
    return (select(Row.village_code, Row.strand, Row.period, Row.status, func.sum(Row.amount_fen),
                   func.count(func.distinct(Row.member_id)))
            .join(Batch, Batch.id == Row.batch_id)
            .where(Batch.status.in_(("notice", "payable")), Row.status.in_(APPROVED),
                   in_region(Row.village_code, prefix))
            .group_by(Row.village_code, Row.strand, Row.period, Row.status))


def _empty() -> dict:
    return {"approved_fen": 0, "paid_fen": 0, "paid_people": 0, "outstanding_fen": 0}


def _add(into: dict, status: str, fen: int, people: int) -> None:
    into["approved_fen"] += fen
    if status == "paid":
        into["paid_fen"] += fen
        into["paid_people"] += people
    else:
        into["outstanding_fen"] += fen


def region_figures(region) -> dict:
    """Own figures, children's, and the strand × period table of the region."""
    from lms.regions.models import LEVEL_DIGITS, Region

    children = list(db.session.scalars(select(Region).where(Region.parent_code == region.code).order_by(Region.code)))
    own, per_child = _empty(), {c.code: _empty() for c in children}
    child_of = {c.code[:LEVEL_DIGITS[c.level]]: c.code for c in children}
    width = LEVEL_DIGITS[children[0].level] if children else None
    strands: dict[tuple[str, str], dict] = {}
    for village, strand, period, status, fen, people in db.session.execute(_base(region.prefix)):
        fen, people = int(fen or 0), int(people or 0)
        _add(own, status, fen, people)
        _add(strands.setdefault((strand, period), _empty()), status, fen, people)
        if width and village[:width] in child_of:
            _add(per_child[child_of[village[:width]]], status, fen, people)
    return {"region": region, "own": own, "children": [(c, per_child[c.code]) for c in children],
            "strands": sorted(strands.items())}


def as_json(region, figures: dict) -> dict:
    def one(r, f) -> dict:
        return {"region": r.code, "name": r.name, "level": r.level, "approved_yuan": yuan(f["approved_fen"]),
                "paid_yuan": yuan(f["paid_fen"]), "paid_people": f["paid_people"],
                "outstanding_yuan": yuan(f["outstanding_fen"])}

    return one(region, figures["own"]) | {"children": [one(c, f) for c, f in figures["children"]]}


def households_of(village_code: str) -> list[dict]:
    """Per household of a village: people and money approved, paid, outstanding (精准到户)."""
    from lms.households.models import Household

    rows = db.session.execute(
        select(Household.id, Household.household_no, Row.status, func.sum(Row.amount_fen),
               func.count(func.distinct(Row.member_id)))
        .join(Household, Household.id == Row.household_id).join(Batch, Batch.id == Row.batch_id)
        .where(Row.village_code == village_code, Batch.status.in_(("notice", "payable")), Row.status.in_(APPROVED))
        .group_by(Household.id, Household.household_no, Row.status))
    out: dict[int, dict] = {}
    for household_id, number, status, fen, people in rows:
        entry = out.setdefault(household_id, {"household_id": household_id, "household_no": number, **_empty()})
        _add(entry, status, int(fen or 0), int(people or 0))
    return sorted(out.values(), key=lambda e: e["household_no"])
