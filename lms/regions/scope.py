"""The one helper every official-facing query and write goes through.

An official is bound to one region and sees and changes it and everything under it; trainers and
admins see everything; a learner sees nothing through these helpers. Objects outside scope are a
404, so a probing official cannot even learn that they exist.

Reads filter with ``in_scope``; views check one object with ``ensure_in_scope``; services check
every write with ``require_in_scope`` (``OutOfScope`` is a 404 when it reaches a view, and the
job or CLI that called the service reports it without naming the region).
"""
from __future__ import annotations

from flask import abort
from sqlalchemy import false, true
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.exceptions import NotFound

from lms.regions.models import Region


def region_prefix(user) -> str | None:
    """The code prefix the user may see: '' for everything, None for nothing."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    role = user.role.value
    if role in ("admin", "trainer"):
        return ""
    if role == "official" and user.region_code:
        region = _region(user.region_code)
        return region.prefix if region else user.region_code
    return None


def _region(code: str) -> Region | None:
    from lms.extensions import db

    return db.session.get(Region, code)


def in_scope(user, code_column) -> ColumnElement[bool]:
    """A SQL condition on a 12-digit region-code column: true where the user may see the row."""
    prefix = region_prefix(user)
    if prefix is None:
        return false()
    if prefix == "":
        return true()
    return code_column.startswith(prefix, autoescape=True)


def code_in_scope(user, code: str | None) -> bool:
    prefix = region_prefix(user)
    if prefix is None or code is None:
        return prefix == ""
    return code.startswith(prefix)


def ensure_in_scope(user, code: str | None) -> None:
    if not code_in_scope(user, code):
        abort(404)


class OutOfScope(NotFound):
    """A write outside the actor's region. A NotFound, so a view answers 404 and names nothing."""


def require_in_scope(actor, *codes: str | None) -> None:
    """For services: every code must lie inside the actor's region.

    ``actor`` None is the system itself (a CLI command run by the server's operator, a signal
    handler): it may write anywhere; a person must have every code in scope."""
    if actor is None:
        return
    for code in codes:
        if not code_in_scope(actor, code):
            raise OutOfScope()


def write_prefix(actor) -> str:
    """The prefix every village code a bulk write touches must have: '' for the system or an admin;
    a prefix no code has ('-') for someone with no region. Bulk writers test codes with
    ``str.startswith`` instead of one query per row."""
    if actor is None:
        return ""
    prefix = region_prefix(actor)
    return "-" if prefix is None else prefix
