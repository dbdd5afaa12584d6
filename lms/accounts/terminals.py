"""Shared village terminals: an admin registers a browser to a village; its sign-in page becomes a
"pick your name" grid of that village's learners. Beside sign-in, below every area that asks which
terminal a page is open on (the lesson player's data saver, "register my household")."""
from __future__ import annotations

import hashlib
import secrets

from flask import g, request
from sqlalchemy import select

from lms.extensions import db
from lms.accounts.models import Role, Terminal, User

COOKIE = "xx_terminal"
# Ten years: the cookie is the terminal's registration, not a session.
COOKIE_AGE = 10 * 365 * 24 * 3600


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register_terminal(actor, name: str, region_code: str, data_saver: bool = True) -> tuple[Terminal, str]:
    token = secrets.token_urlsafe(24)
    terminal = Terminal(name=name.strip(), region_code=region_code, token_hash=_hash(token),
                        data_saver=data_saver, created_by_id=actor.id if actor else None)
    db.session.add(terminal)
    db.session.flush()
    from lms.audit import record

    record(actor, "terminal.register", f"terminal:{terminal.id}", {"region": region_code, "name": name})
    return terminal, token


def current_terminal() -> Terminal | None:
    if "xx_terminal" not in g:
        token = request.cookies.get(COOKIE)
        terminal = None
        if token:
            terminal = db.session.scalar(select(Terminal).where(
                Terminal.token_hash == _hash(token), Terminal.active.is_(True)))
        g.xx_terminal = terminal
    return g.xx_terminal


def village_learners(terminal: Terminal):
    return list(db.session.scalars(select(User).where(
        User.role == Role.learner, User.region_code == terminal.region_code,
        User.is_active_account.is_(True)).order_by(User.display_name, User.id)))


def last4(user) -> str:
    hint = user.login_hint or ""
    return hint[-4:] if len(hint) >= 4 else hint
