"""Lockouts after wrong PINs and passwords, counted in the database.

Every gunicorn worker, every web host and every restart sees the same count, and sign-in keeps
working while Redis is away (Flask-Limiter is not asked). Two counts guard each sign-in route:

- per account, across every route (``/signin``, the terminal grid, ``/signin/staff``): 5 wrong
  tries in 15 minutes, then the account waits until the oldest of them is 15 minutes old;
- per address and route: 30 in 15 minutes (a village service centre shares one address, so this
  cap is looser). The address is the client's, behind ``LMS_TRUSTED_PROXIES`` proxies.

A wrong try is written on a connection of its own and committed at once: the sign-in answers
401, which rolls the request's own transaction back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import request
from flask_babel import format_time
from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select

from lms.accounts.models import SigninFailure
from lms.crypto import keyed_hash, normalize_identifier
from lms.db import utcnow
from lms.extensions import db

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 30
WINDOW = timedelta(minutes=15)


def account_key(user=None, identifier: str | None = None) -> str:
    """One key per account whichever route it is tried on; an unknown identifier counts too."""
    if user is not None:
        return f"user:{user.id}"
    return "id:" + keyed_hash(normalize_identifier(identifier or ""), "lockout")


def _address_key(route: str) -> str:
    return f"addr:{route}:{request.remote_addr or '-'}"[:96]


@dataclass(frozen=True)
class Verdict:
    message: str
    status: int  # 401 wrong, 429 locked
    retry_after: int | None = None  # seconds, when locked

    def headers(self) -> dict:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


def _failures(key: str, since: datetime, limit: int) -> list[datetime]:
    return list(db.session.scalars(select(SigninFailure.at).where(SigninFailure.key == key, SigninFailure.at > since)
                                   .order_by(SigninFailure.at.desc()).limit(limit)))


def _retry_at(key: str, limit: int, now: datetime) -> datetime | None:
    recent = _failures(key, now - WINDOW, limit)
    return recent[-1] + WINDOW if len(recent) >= limit else None


def _locked(retry_at: datetime, now: datetime, address: bool) -> Verdict:
    seconds = max(1, int((retry_at - now).total_seconds() + 0.999))
    minutes = -(-seconds // 60)
    when = format_time(retry_at, "HH:mm")
    if address:
        message = _("Too many wrong tries from this place. Try again at %(time)s (in %(minutes)d minutes).",
                    time=when, minutes=minutes)
    else:
        message = _("Too many wrong tries. Try again at %(time)s (in %(minutes)d minutes).",
                    time=when, minutes=minutes)
    return Verdict(message, 429, seconds)


def refusal(route: str, key: str) -> Verdict | None:
    """A 429 verdict when the account or this address is locked out, else None (go on)."""
    now = utcnow()
    account = _retry_at(key, ACCOUNT_LIMIT, now)
    if account is not None:
        return _locked(account, now, address=False)
    address = _retry_at(_address_key(route), ADDRESS_LIMIT, now)
    if address is not None:
        return _locked(address, now, address=True)
    return None


def record_failure(route: str, key: str, wrong: str) -> Verdict:
    """Count a wrong try against the account and the address; ``wrong`` says what was wrong.
    The verdict tells how many tries are left, or when to retry when none are."""
    now = utcnow()
    keys = (key, _address_key(route))
    with db.engine.begin() as connection:
        connection.execute(insert(SigninFailure), [{"key": k, "at": now} for k in keys])
        # Old rows of these keys are of no more use; pruning here keeps the table small.
        connection.execute(delete(SigninFailure).where(SigninFailure.key.in_(keys), SigninFailure.at <= now - WINDOW))
        count = connection.execute(select(func.count()).select_from(SigninFailure).where(
            SigninFailure.key == key, SigninFailure.at > now - WINDOW)).scalar_one()
    left = ACCOUNT_LIMIT - count
    locked = refusal(route, key) if left <= 0 else None
    if locked is not None:  # the last try: still a wrong PIN (401), and when to come back
        return Verdict(_sentences(wrong, locked.message), 401, locked.retry_after)
    return Verdict(_sentences(wrong, _("You can try %(n)d more times.", n=max(left, 0))), 401)


def _sentences(first: str, second: str) -> str:
    # Chinese runs sentences together after its full stop (。); English puts a space.
    return _("%(first)s %(second)s", first=first, second=second)


def clear(key: str) -> None:
    """A right PIN or password: the account's wrong tries are forgiven (the address's stay)."""
    db.session.execute(delete(SigninFailure).where(SigninFailure.key == key))
