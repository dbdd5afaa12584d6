"""Encryption at rest and keyed hashes for personal identifiers (DOMAIN.md §2, PIPL art. 28).

``LMS_DATA_KEY`` is the only secret: an AES-GCM key and an HMAC key are derived from it, so a
database dump alone reveals neither ID numbers nor phone numbers.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
from datetime import datetime
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import UTCDateTime, utcnow
from lms.extensions import db


@lru_cache(maxsize=8)
def _derived_keys(data_key: str) -> tuple[bytes, bytes]:
    root = hashlib.sha256(data_key.encode()).digest()
    enc = hmac.new(root, b"xiangxue/encrypt/v1", hashlib.sha256).digest()
    mac = hmac.new(root, b"xiangxue/lookup/v1", hashlib.sha256).digest()
    return enc, mac


def _keys() -> tuple[bytes, bytes]:
    return _derived_keys(current_app.config["DATA_KEY"])


def _old_keys() -> list[tuple[bytes, bytes]]:
    """Keys being rotated out (``LMS_DATA_KEY_OLD``): for reading only."""
    return [_derived_keys(key) for key in current_app.config.get("DATA_KEY_FALLBACKS") or ()]


def normalize_identifier(value: str) -> str:
    """Full-width → half-width, no spaces, no Excel text apostrophe, upper case (a lowercase x check digit)."""
    value = unicodedata.normalize("NFKC", value or "")
    return value.replace(" ", "").strip().lstrip("'").upper()


def _hash_with(mac_key: bytes, value: str, purpose: str) -> str:
    mac = hmac.new(mac_key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def keyed_hash(value: str, purpose: str = "id") -> str:
    """Deterministic HMAC for look-up and uniqueness; ``purpose`` separates the namespaces."""
    return _hash_with(_keys()[1], value, purpose)


def keyed_hashes(value: str, purpose: str = "id") -> list[str]:
    """For look-ups: the hash under the current key first, then under each key being rotated out
    (a stored hash made before the rotation still matches)."""
    return [keyed_hash(value, purpose), *(_hash_with(mac, value, purpose) for _, mac in _old_keys())]


def encrypt(value: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_keys()[0]).encrypt(nonce, value.encode(), None)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    raw = base64.urlsafe_b64decode(token.encode())
    keys = [_keys()[0], *(enc for enc, _ in _old_keys())]
    for enc in keys[:-1]:
        try:
            return AESGCM(enc).decrypt(raw[:12], raw[12:], None).decode()
        except InvalidTag:
            continue
    return AESGCM(keys[-1]).decrypt(raw[:12], raw[12:], None).decode()


def fingerprint(data_key: str) -> str:
    """Names a data key without revealing it (the rotation's record)."""
    return hmac.new(hashlib.sha256(data_key.encode()).digest(), b"xiangxue/fingerprint/v1",
                    hashlib.sha256).hexdigest()[:32]


class DataKeyRotation(db.Model):
    """``flask keys rotate-data`` towards one data key: where it is, so it resumes, and when it ended."""

    __tablename__ = "data_key_rotations"

    fingerprint: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_member_id: Mapped[int] = mapped_column(Integer, default=0)
    members: Mapped[int] = mapped_column(Integer, default=0)
    logins: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def rotation_pending() -> bool:
    """An old data key is configured and ``flask keys rotate-data`` has not finished moving the
    stored ID numbers to the current one (imports wait: they match numbers by the current hash)."""
    if not current_app.config.get("DATA_KEY_FALLBACKS"):
        return False
    row = db.session.get(DataKeyRotation, fingerprint(current_app.config["DATA_KEY"]))
    return row is None or row.finished_at is None


def mask_id(value: str | None) -> str:
    """The one mask for ID numbers everywhere: first 6 + last 4 (``621123********123X``)."""
    if not value:
        return ""
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 4, 0) + value[-2:]
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """Phones keep the first 3 and last 4 digits (``138****5678``)."""
    if not value:
        return ""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_identifier(value: str) -> str:
    """Mask a sign-in identifier: an 11-digit phone or an ID number."""
    return mask_phone(value) if len(value) == 11 and value.isdigit() else mask_id(value)
