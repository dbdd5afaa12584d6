"""Parsing the follow-up forms (the lists of laborers are checkboxes, so plain request fields).
Each parser returns the values or raises ``FollowupError`` with a message for the person."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _

from lms.followup.services import FollowupError


def parse_date(value: str | None, missing: str) -> dt.date:
    value = (value or "").strip()
    if not value:
        raise FollowupError(missing)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FollowupError(_("Write the date as YYYY-MM-DD, for example 2025-06-30.")) from None


def parse_measure(value: str | None) -> tuple[int | None, int | None]:
    """'course:12' or 'class:3' → (course id, class id)."""
    kind, _sep, number = (value or "").partition(":")
    if kind not in ("course", "class") or not number.isdigit() or len(number) > 12:
        raise FollowupError(_("Choose a course or an offline class."))
    return (int(number), None) if kind == "course" else (None, int(number))


def parse_members(values: list[str]) -> list[int]:
    ids = [int(v) for v in values if v.isdigit() and len(v) <= 12]
    if not ids:
        raise FollowupError(_("Select at least one laborer."))
    return ids


def safe_next(value: str | None, fallback: str) -> str:
    """Back to the page the form was on; only a path of this site."""
    # "//host" and "/\\host" are other sites to a browser.
    if not value or not value.startswith("/") or value[1:2] in ("/", "\\") or any(c in value for c in "\r\n"):
        return fallback
    return value
