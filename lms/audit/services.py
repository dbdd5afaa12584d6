from __future__ import annotations

from flask import has_request_context, request

from lms.extensions import db


def _target_label(target) -> str:
    if target is None:
        return ""
    if isinstance(target, str):
        return target
    ident = getattr(target, "id", None) or getattr(target, "code", None)
    return f"{type(target).__name__}:{ident}"


def record(actor, action: str, target=None, details: dict | None = None):
    """Add an audit entry to the current transaction: it commits or rolls back with the change."""
    from lms.audit.models import AuditEntry

    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        action=action,
        target=_target_label(target),
        details=details,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry
