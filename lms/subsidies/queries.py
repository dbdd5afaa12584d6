"""Reads for the pages: batches an official may see, a batch's rows (their village only for a
village official), its history, the public notice, and the figures per region."""
from __future__ import annotations

from sqlalchemy import func, select

from lms.extensions import db
from lms.regions.scope import in_scope
from lms.subsidies.models import Batch, Objection, Row


def batch_history(batch: Batch) -> list:
    from lms.audit.models import AuditEntry

    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.target == f"SubsidyBatch:{batch.id}")
                                   .order_by(AuditEntry.at, AuditEntry.id)))


def batches_for(user, limit: int = 200) -> list[Batch]:
    """Batches of the user's region (and, for a village official, their township's)."""
    stmt = select(Batch).order_by(Batch.id.desc()).limit(limit)
    if user.has_role("admin"):
        return list(db.session.scalars(stmt))
    code = user.region_code or ""
    township = code[:9] + "000" if len(code) == 12 else code
    return list(db.session.scalars(stmt.where(in_scope(user, Batch.region_code) | (Batch.region_code == township))))


def rows_for(user, batch: Batch, village: str | None = None) -> list[Row]:
    """The batch's rows the user may see; of one village when ``village`` is given."""
    stmt = (select(Row).where(Row.batch_id == batch.id).order_by(Row.village_code, Row.id))
    if not user.has_role("admin"):
        stmt = stmt.where(in_scope(user, Row.village_code))
    if village:
        stmt = stmt.where(Row.village_code == village)
    return list(db.session.scalars(stmt))


def village_counts(user, batch: Batch) -> list[dict]:
    """Per village of the batch the user may see: people, rows still to certify, and the total (fen)
    of the rows not excluded. One grouped statement."""
    from sqlalchemy import case

    from lms.regions.models import Region

    stmt = (select(Row.village_code, Region.name, func.count(Row.id),
                   func.sum(case((Row.status == "proposed", 1), else_=0)),
                   func.sum(case((Row.status != "excluded", Row.amount_fen), else_=0)))
            .join(Region, Region.code == Row.village_code, isouter=True)
            .where(Row.batch_id == batch.id).group_by(Row.village_code, Region.name).order_by(Row.village_code))
    if not user.has_role("admin"):
        stmt = stmt.where(in_scope(user, Row.village_code))
    return [{"code": code, "name": name or "", "people": people, "to_certify": int(to_certify or 0),
             "total_fen": int(total or 0)} for code, name, people, to_certify, total in db.session.execute(stmt)]


def summary(batch: Batch) -> dict:
    counts = dict(db.session.execute(select(Row.status, func.count(Row.id)).where(Row.batch_id == batch.id)
                                     .group_by(Row.status)).all())
    total = db.session.scalar(select(func.coalesce(func.sum(Row.amount_fen), 0)).where(
        Row.batch_id == batch.id, Row.status != "excluded"))
    return {"counts": counts, "total_fen": total}


def objections_of(rows: list[Row]) -> dict[int, list[Objection]]:
    ids = [r.id for r in rows]
    out: dict[int, list[Objection]] = {}
    if ids:
        for objection in db.session.scalars(select(Objection).where(Objection.row_id.in_(ids)).order_by(Objection.id)):
            out.setdefault(objection.row_id, []).append(objection)
    return out


def notice_rows(batch: Batch, village: str | None = None) -> list[Row]:
    """What the public notice shows: rows on notice (certified, payable, paid), no account numbers."""
    stmt = (select(Row).where(Row.batch_id == batch.id, Row.status.in_(("certified", "payable", "paid")))
            .order_by(Row.village_code, Row.id))
    if village:
        stmt = stmt.where(Row.village_code == village)
    return list(db.session.scalars(stmt))


def household_rows(household_id: int) -> list[Row]:
    """The household's rows that are not excluded, newest first."""
    return list(db.session.scalars(select(Row).where(Row.household_id == household_id, Row.status != "excluded")
                                   .order_by(Row.id.desc()).limit(50)))
