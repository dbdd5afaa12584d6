"""The shared keys: generating them, and rotating the data key (``flask keys …``)."""
from __future__ import annotations

import secrets

from lms.config import KEYS


def generate() -> dict[str, str]:
    """Fresh values for the three keys (letters, digits, - and _: safe in a shell and in nginx's
    ``secure_link_md5``, which the media link secret is written into)."""
    return {variable: secrets.token_urlsafe(48) for variable in KEYS.values()}


class RotationError(Exception):
    """``flask keys rotate-data`` cannot run (the message says why)."""


def rotation_record():
    """The rotation towards the current data key (created on first use; flushes)."""
    from flask import current_app

    from lms.crypto import DataKeyRotation, fingerprint
    from lms.extensions import db

    if not current_app.config.get("DATA_KEY_FALLBACKS"):
        raise RotationError("LMS_DATA_KEY_OLD is not set: there is no old data key to rotate away from.")
    key = fingerprint(current_app.config["DATA_KEY"])
    row = db.session.get(DataKeyRotation, key)
    if row is None:
        row = DataKeyRotation(fingerprint=key, last_member_id=0, members=0, logins=0)
        db.session.add(row)
        db.session.flush()
    return row


def rotate_batch(row, size: int = 1000) -> int:
    """Seal the next ``size`` registry members' ID numbers under the current data key and re-hash
    them, and move the sign-in key of any learner account signed in with one of those numbers;
    returns how many members were looked at (0: done). Members already under the current key are
    left as they are, so an interrupted run resumes where it stopped. Flushes."""
    from sqlalchemy import select

    from lms.accounts.models import User
    from lms.crypto import keyed_hashes, normalize_identifier
    from lms.extensions import db
    from lms.households.idnumbers import digest_input, parse_id
    from lms.households.models import Member
    from lms.households.services import cipher

    keyed = cipher()
    members = db.session.execute(
        select(Member.id, Member.id_enc).where(Member.id > row.last_member_id)
        .order_by(Member.id).limit(size)).all()
    moved_logins: dict[str, str] = {}  # old sign-in key -> new
    for member_id, sealed in members:
        if keyed.decrypt_current(sealed) is not None:
            continue
        number = keyed.decrypt(sealed)  # under an old key (InvalidTag: under none we know)
        digest = digest_input(keyed, number)
        if digest is None:
            raise RotationError(f"member {member_id}: the stored number is not an ID number")
        db.session.execute(Member.__table__.update().where(Member.id == member_id)
                           .values(id_enc=keyed.encrypt(number), id_hash=digest))
        row.members += 1
        # A learner account's sign-in key is the hash of the number typed at sign-in.
        for identifier in {normalize_identifier(number), parse_id(number).person_id}:
            new, *old = keyed_hashes(identifier, "login")
            moved_logins.update((key, new) for key in old)
    if moved_logins:
        for user in db.session.scalars(select(User).where(User.login_key.in_(list(moved_logins)))):
            user.login_key = moved_logins[user.login_key]
            row.logins += 1
    if members:
        row.last_member_id = members[-1][0]
    db.session.flush()
    return len(members)


def finish(row) -> None:
    from lms.audit.services import record
    from lms.db import utcnow
    from lms.extensions import db

    row.finished_at = utcnow()
    record(None, "keys.data_rotated", row.fingerprint, {"members": row.members, "logins": row.logins})
    db.session.flush()
