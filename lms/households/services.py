"""State changes of the registry other than the import (``importing/``): the ID
cipher, learner linking and accounts, showing an ID number, member removal and
household moves, each recorded in the household's history and audited.

Services flush, never commit; the request, CLI command or job that called them
commits.
"""
from __future__ import annotations

import functools
from contextlib import ExitStack, contextmanager

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from lms.crypto import IdCipher
from lms.db import utcnow
from lms.errors import FieldError
from lms.extensions import db

from . import categories as cat
from .models import Household, Member, MemberChange


@functools.lru_cache(maxsize=4)
def cipher_for_key(key: str, fallbacks: tuple = ()) -> IdCipher:
    """The ID cipher for a data key (cached: building one derives keys).  The import's
    helper process keys its own from the key alone: it only encrypts and hashes."""
    return IdCipher(key, fallbacks)


def cipher() -> IdCipher:
    """The ID cipher keyed from the app's data key (``LMS_DATA_KEY``; reading also with
    ``LMS_DATA_KEY_OLD`` during a rotation)."""
    return cipher_for_key(current_app.config["DATA_KEY"],
                          tuple(current_app.config.get("DATA_KEY_FALLBACKS") or ()))


class LinkError(FieldError):
    """Why a person cannot link to or register an account; ``str()`` is for them. ``field`` names
    the form field it concerns (the page shows the message under it), None for the first one."""


def find_member_to_link(id_number: str, name: str) -> Member:
    """The registered member a person at a village terminal says they are."""
    from lms.accounts.models import User

    from .queries import member_by_id_number
    from lms.spreadsheets.text import normalize

    member = member_by_id_number(id_number)
    if member is None or member.removed_at is not None:
        raise LinkError(_("No registered household member has this ID number. Check the number, "
                          "or register as a learner outside the registry."))
    if normalize(name) != normalize(member.name):
        raise LinkError(_("The name does not match the registry record for this ID number. "
                          "Enter the name exactly as on the ID card."), field="name")
    if db.session.scalar(select(User.id).where(User.member_id == member.id)):
        raise LinkError(_("This ID number already has a learner account. Sign in with your PIN, "
                          "or ask the village official to reset it."))
    return member


def create_member_account(member: Member, pin: str, actor=None):
    """A learner account for a registered member, signed in by ID number + PIN (``actor``: the
    official creating it, None when the person links themselves at a terminal)."""
    from lms.accounts.services import AccountError, check_pin, create_user

    from .idnumbers import parse_id

    person_id = parse_id(cipher().decrypt(member.id_enc)).person_id
    try:
        check_pin(pin, person_id)
    except AccountError as exc:
        raise LinkError(str(exc), field="pin") from exc
    try:
        user = create_user(username=person_id, role="learner", password=pin,
                           region_code=member.household.village_code, display_name=member.name,
                           actor=actor)
    except AccountError as exc:
        raise LinkError(str(exc)) from exc
    user.member_id = member.id
    db.session.flush()
    return user


def register_learner(identifier: str, name: str, village_code: str, pin: str):
    """A non-registry learner (not in a registered household)."""
    from lms.accounts.services import AccountError, check_pin, create_user
    from lms.regions.models import Region

    from .queries import member_by_id_number

    if member_by_id_number(identifier) is not None:
        raise LinkError(_("This ID number is in the household registry: use “Find my household "
                          "record” instead."))
    region = db.session.get(Region, village_code)
    if region is None or region.level != 5:
        raise LinkError(_("Choose your village."))
    from lms.crypto import normalize_identifier

    try:  # before the account: a weak PIN is said under the PIN field, not under the ID number
        check_pin(pin, normalize_identifier(identifier) or None)
    except AccountError as exc:
        raise LinkError(str(exc), field="pin") from exc
    try:
        return create_user(username=identifier, role="learner", password=pin,
                           region_code=village_code, display_name=name.strip())
    except AccountError as exc:
        raise LinkError(str(exc)) from exc


def member_account(member: Member):
    from lms.accounts.models import User

    return db.session.scalar(select(User).where(User.member_id == member.id))


def set_member_account(member: Member, pin: str, actor):
    """An official creates a member's learner account, or resets its PIN. Audited."""
    from lms.accounts.services import AccountError, set_password
    from lms.audit import record
    from lms.regions.scope import require_in_scope

    require_in_scope(actor, member.household.village_code)
    user = member_account(member)
    if user is None:
        user = create_member_account(member, pin, actor=actor)
        record(actor, "households.account_create", user, {"member": member.id})
    else:
        from .idnumbers import parse_id

        # The ID number lets the PIN check refuse the member's birth date.
        try:
            set_password(user, pin, identifier=parse_id(cipher().decrypt(member.id_enc)).person_id)
        except AccountError as exc:
            raise LinkError(str(exc)) from exc
        record(actor, "households.account_reset", user, {"member": member.id})
    return user


def reveal_id(member: Member, actor) -> str:
    """The unmasked ID number, for an official who asked to see it. Audited."""
    from lms.audit import record
    from lms.regions.scope import require_in_scope

    require_in_scope(actor, member.household.village_code)
    record(actor, "households.show_id", member, {"household": member.household.household_no})
    return cipher().decrypt(member.id_enc)


def remove_member(member: Member, reason: str, actor) -> None:
    """Mark a member as removed from the registry (never deleted). Audited; the roll-ups move in
    the same transaction (``registry_changing``)."""
    from lms.audit import record
    from lms.regions.scope import require_in_scope

    require_in_scope(actor, member.household.village_code)
    now = utcnow()
    with _announcing([member.household_id], [member.household.village_code]):
        member.removed_at, member.removed_reason = now, reason.strip()[:200]
        db.session.add(MemberChange(household_id=member.household_id, member_id=member.id,
                                    field="removed", old=None, new=member.removed_reason,
                                    changed_at=now, user_id=getattr(actor, "id", None)))
        record(actor, "households.remove_member", member, {"reason": member.removed_reason})
        db.session.flush()


@contextmanager
def _announcing(household_ids, village_codes):
    """``with _announcing(households, villages): change them`` — areas above (the roll-ups) hear of
    the change before and after it (``lms.households.signals.registry_changing``)."""
    from .signals import registry_changing

    with ExitStack() as stack:
        for _receiver, manager in registry_changing.send(None, household_ids=list(household_ids),
                                                         village_codes=list(village_codes)):
            if manager is not None:
                stack.enter_context(manager)
        yield


class MoveError(ValueError):
    """Why a household cannot move; ``str()`` is for the official."""


def move_household(household: Household, village_code: str, actor) -> None:
    """Move a household to another village: an explicit change, only for an official whose
    region covers both villages (an import never moves one), recorded in the household's
    history and audited."""
    from lms.audit import record
    from lms.regions.models import Region
    from lms.regions.scope import code_in_scope, require_in_scope

    require_in_scope(actor, household.village_code)
    village = db.session.get(Region, (village_code or "").strip())
    # A village outside the official's region is "unknown" to them: nothing said about it.
    if village is None or village.level != 5 or (actor is not None
                                                 and not code_in_scope(actor, village.code)):
        raise MoveError(_("Choose a village of your region."))
    if village.code == household.village_code:
        raise MoveError(_("The household is already registered in this village."))
    old, now = household.village_code, utcnow()
    with _announcing([household.id], [old, village.code]):
        household.village_code, household.updated_at = village.code, now
        db.session.add(MemberChange(household_id=household.id, member_id=None, field="village_code",
                                    old=old, new=village.code, changed_at=now,
                                    user_id=getattr(actor, "id", None)))
        record(actor, "households.move", household, {"from": old, "to": village.code})
        db.session.flush()
    db.session.expire(household, ["village"])


# Labour capacity after skill awards: the skills area calls these, so the registry's history keeps
# one writer.
def mark_skilled(member, actor) -> None:
    """A skill award (``lms.skills``) makes the member 技能劳动力 after certification (DOMAIN.md §5),
    only up from 普通 or 弱劳动力: people without labour capacity do not become laborers by taking
    a course."""
    current = cat.LabourSkill(member.labour_skill)
    if current in (cat.LabourSkill.ORDINARY, cat.LabourSkill.WEAK):
        db.session.add(MemberChange(household_id=member.household_id, member_id=member.id, field="labour_skill",
                                    old=current.value, new=cat.LabourSkill.SKILLED.value,
                                    user_id=getattr(actor, "id", None)))
        member.labour_skill = cat.LabourSkill.SKILLED
        member.updated_at = utcnow()


def unmark_skilled(member_id: int, actor) -> None:
    """The last skill withdrawn: 劳动技能 goes back to what it was before the first award made it
    技能劳动力 (only if that is still its value), recorded in the history too."""
    member = db.session.get(Member, member_id)
    before = db.session.scalar(select(MemberChange.old).where(
        MemberChange.member_id == member_id, MemberChange.field == "labour_skill",
        MemberChange.new == cat.LabourSkill.SKILLED.value, MemberChange.import_id.is_(None))
        .order_by(MemberChange.id.desc()).limit(1))
    if before and cat.LabourSkill(member.labour_skill) is cat.LabourSkill.SKILLED:
        db.session.add(MemberChange(household_id=member.household_id, member_id=member.id, field="labour_skill",
                                    old=cat.LabourSkill.SKILLED.value, new=before,
                                    user_id=getattr(actor, "id", None)))
        member.labour_skill = cat.LabourSkill(before)
        member.updated_at = utcnow()
