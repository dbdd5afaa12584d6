from __future__ import annotations

from lms.audit.models import AuditEntry
from lms.extensions import db


def list_entries(action: str | None = None, actor_id: int | None = None, target: str | None = None,
                 page: int = 1, per_page: int = 50):
    stmt = db.select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if actor_id:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if target:
        stmt = stmt.where(AuditEntry.target.startswith(target, autoescape=True))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def actions() -> list[str]:
    return list(db.session.scalars(db.select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
