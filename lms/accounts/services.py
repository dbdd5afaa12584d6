"""Creating accounts and checking credentials. Services flush; the caller commits."""
from __future__ import annotations

import re

from flask_babel import gettext as _

from lms.accounts.models import Role, User
from lms.crypto import keyed_hash, keyed_hashes, mask_identifier, normalize_identifier
from lms.db import utcnow
from lms.extensions import db
from lms.regions.models import Region

PIN_PATTERN = re.compile(r"^\d{6}$")
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """Bad input for an account; the message is for the person who typed it."""


def learner_login_key(identifier: str) -> str:
    return keyed_hash(normalize_identifier(identifier), "login")


def learner_login_keys(identifier: str) -> list[str]:
    """For look-ups: the key under the current data key, then under any key being rotated out."""
    return keyed_hashes(normalize_identifier(identifier), "login")


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise AccountError(_("Unknown role “%(role)s”. Choose learner, trainer, official or admin.", role=value))


def create_user(*, username: str, role: str | Role, password: str, region_code: str | None = None,
                display_name: str = "", actor=None) -> User:
    """Create a staff account or a learner account (``username`` = the learner's phone or ID number).

    ``actor`` is who creates it (None: the system, e.g. the CLI or a learner linking themselves).
    An official creates only learner accounts, each with a region inside their own; an admin any."""
    role = role if isinstance(role, Role) else parse_role(role)
    _check_creator(actor, role, region_code)
    region = None
    if region_code:
        region = db.session.get(Region, region_code)
        if region is None:
            raise AccountError(_("Region %(code)s does not exist.", code=region_code))
    if role is Role.official and region is None:
        raise AccountError(_("An official must be bound to a region."))
    user = User(role=role, display_name=display_name.strip(), region_code=region_code or None)
    if role is Role.learner:
        identifier = normalize_identifier(username)
        if not identifier:
            raise AccountError(_("Enter the learner's phone or ID number."))
        check_pin(password, identifier)
        key = learner_login_key(identifier)
        if db.session.scalar(db.select(User.id).where(User.login_key.in_(learner_login_keys(identifier)))):
            raise AccountError(_("An account with this phone or ID number already exists."))
        user.login_key, user.login_hint = key, mask_identifier(identifier)
    else:
        if not USERNAME_PATTERN.match(username or ""):
            raise AccountError(_("A username has 3 to 64 letters, digits, dots, dashes or underscores."))
        if len(password or "") < MIN_PASSWORD_LENGTH:
            raise AccountError(_("A password has at least %(n)s characters.", n=MIN_PASSWORD_LENGTH))
        if db.session.scalar(db.select(User.id).where(User.username == username)):
            raise AccountError(_("The username “%(username)s” is taken.", username=username))
        user.username = username
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def _check_creator(actor, role: Role, region_code: str | None) -> None:
    from lms.regions.scope import code_in_scope

    if actor is None or actor.role is Role.admin:
        return
    if actor.role is not Role.official or role is not Role.learner:
        raise AccountError(_("Only an administrator creates staff accounts."))
    if not region_code or not code_in_scope(actor, region_code):
        # Said the same whether the region exists elsewhere or not at all.
        raise AccountError(_("An account you create must belong to a village of your region."))


def set_password(user: User, password: str, identifier: str | None = None) -> None:
    """A new PIN or password; every session of the account ends. ``identifier``: the learner's
    ID number or phone when the caller knows it (only its hash is stored), so a PIN made of the
    birth date or the number's last digits is refused too."""
    if user.role is Role.learner:
        check_pin(password, identifier)
    elif len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(_("A password has at least %(n)s characters.", n=MIN_PASSWORD_LENGTH))
    user.set_password(password)
    end_sessions(user)


def end_sessions(user: User) -> None:
    """End every session of the account, in every process (lms.sessions.session_current)."""
    user.session_generation = User.session_generation + 1  # in SQL: two at once both count
    db.session.flush()


def _runs(pin: str) -> bool:
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:])}
    return steps in ({1}, {9})  # 123456, 654321, and wrapping ones such as 890123


def _dates_in(identifier: str) -> set[str]:
    """Six-digit forms of the birth date in an 18- or 15-digit ID number."""
    digits = normalize_identifier(identifier or "")
    if len(digits) == 18 and digits[:17].isdigit():
        yyyy, mm, dd = digits[6:10], digits[10:12], digits[12:14]
    elif len(digits) == 15 and digits.isdigit():
        yyyy, mm, dd = "19" + digits[6:8], digits[8:10], digits[10:12]
    else:
        return set()
    yy = yyyy[2:]
    return {yy + mm + dd, mm + dd + yy, dd + mm + yy, yyyy + mm, mm + yyyy}


def check_pin(pin: str, identifier: str | None = None) -> None:
    """Refuse a PIN that is not 6 digits or is easy to guess, with the reason, wherever a PIN is
    set: one digit repeated, a run up or down, a repeated pair or triple, the birth date in the
    ID number, or the last six digits of the ID number or phone."""
    pin = pin or ""
    if not PIN_PATTERN.match(pin):
        raise AccountError(_("A PIN is exactly 6 digits."))
    if len(set(pin)) == 1:
        raise AccountError(_("This PIN is one digit repeated and easy to guess. Please choose another."))
    if _runs(pin):
        raise AccountError(_("This PIN is a run of digits (like 123456) and easy to guess. Please choose another."))
    if pin[:2] * 3 == pin or pin[:3] * 2 == pin:
        raise AccountError(_("This PIN repeats a short group of digits and is easy to guess. Please choose another."))
    if identifier:
        if pin in _dates_in(identifier):
            raise AccountError(_("This PIN is your birth date. Please choose another."))
        digits = normalize_identifier(identifier)
        if len(digits) >= 6 and digits[-6:] == pin:
            raise AccountError(_("This PIN is the end of your ID number or phone. Please choose another."))


def find_staff(username: str) -> User | None:
    user = db.session.scalar(db.select(User).where(User.username == (username or "").strip()))
    return None if user is None or user.role is Role.learner else user


def find_learner(identifier: str) -> User | None:
    """The learner account of a phone or ID number, looked up under the current data key and any
    key being rotated out. An account found under an old key moves to the current one here: only
    the learner's own sign-in can move it (a phone number is stored nowhere to re-hash it from)."""
    keys = learner_login_keys(identifier or "")
    user = db.session.scalar(db.select(User).where(User.login_key.in_(keys)))
    if user is None or user.role is not Role.learner:
        return None
    if user.login_key != keys[0]:
        user.login_key = keys[0]
        db.session.flush()
    return user


def note_signin(user: User) -> None:
    user.last_signin_at = utcnow()
    db.session.flush()
