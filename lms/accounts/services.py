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
        if not PIN_PATTERN.match(password or ""):
            raise AccountError(_("A PIN is exactly 6 digits."))
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


def set_password(user: User, password: str) -> None:
    if user.role is Role.learner:
        if not PIN_PATTERN.match(password or ""):
            raise AccountError(_("A PIN is exactly 6 digits."))
    elif len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(_("A password has at least %(n)s characters.", n=MIN_PASSWORD_LENGTH))
    user.set_password(password)
    db.session.flush()


def authenticate_staff(username: str, password: str) -> User | None:
    user = db.session.scalar(db.select(User).where(User.username == (username or "").strip()))
    if user is None or user.role is Role.learner or not user.check_password(password or ""):
        return None
    return user


def authenticate_learner(identifier: str, pin: str) -> User | None:
    keys = learner_login_keys(identifier or "")
    user = db.session.scalar(db.select(User).where(User.login_key.in_(keys)))
    if user is None or not user.check_password(pin or ""):
        return None
    if user.login_key != keys[0]:
        # Made under a data key being rotated out: only the learner's own sign-in can move it
        # (a phone number is stored nowhere to re-hash it from).
        user.login_key = keys[0]
        db.session.flush()
    return user


def note_signin(user: User) -> None:
    user.last_signin_at = utcnow()
    db.session.flush()
