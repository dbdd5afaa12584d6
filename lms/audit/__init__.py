"""Audit log: every state change an official, trainer or admin makes, in the same transaction."""
from __future__ import annotations

from lms.audit.services import record

__all__ = ["init_app", "record"]


def init_app(app) -> None:
    # The audit log brings no page of its own (admins read it on /admin/audit): only its table.
    from . import models  # noqa: F401
