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


class IdCipher:
    """Encryption at rest (AES-256-GCM) and a keyed look-up hash (BLAKE2b) for ID
    numbers, both keyed from the data key (``LMS_DATA_KEY``).

    ``encrypt``/``keyed_hash`` above do the same for single values as base64 text;
    the registry stores raw bytes and reuses one AES-GCM object, because an import
    seals a million numbers (BLAKE2b ~0.6 µs against HMAC-SHA256's ~1.6 µs here).
    What a person typed is parsed first (``lms.households.idnumbers.digest_input``)."""

    def __init__(self, data_key: str | bytes, fallbacks: tuple = ()):
        if isinstance(data_key, str):
            data_key = data_key.encode()
        if not data_key:
            raise ValueError("a data key is required")
        enc = hashlib.blake2b(data_key, digest_size=32, person=b"lms-id-enc").digest()
        self._mac = hashlib.blake2b(data_key, digest_size=32, person=b"lms-id-mac").digest()
        self._aead = AESGCM(enc)
        # Keys being rotated out (LMS_DATA_KEY_OLD): read with them, never write.
        self.old = tuple(IdCipher(key) for key in fallbacks)

    def encrypt(self, number: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, number.encode(), None)

    def encrypt_many(self, numbers: list[str | None]) -> list[bytes | None]:
        """``encrypt`` for each number (None stays None), with the random nonces
        read from the system in one call."""
        nonces = os.urandom(12 * len(numbers))
        seal = self._aead.encrypt
        return [None if number is None else
                nonces[i:i + 12] + seal(nonces[i:i + 12], number.encode(), None)
                for i, number in zip(range(0, len(nonces), 12), numbers)]

    def decrypt(self, blob: bytes) -> str:
        try:
            return self._aead.decrypt(blob[:12], bytes(blob[12:]), None).decode()
        except InvalidTag:
            for old in self.old:
                try:
                    return old.decrypt(blob)
                except InvalidTag:
                    continue
            raise

    def decrypt_current(self, blob: bytes) -> str | None:
        """The number if ``blob`` was sealed under the current key, else None (a rotation's test)."""
        try:
            return self._aead.decrypt(blob[:12], bytes(blob[12:]), None).decode()
        except InvalidTag:
            return None

    def digest(self, person_id: str) -> bytes:
        """16-byte keyed hash of the 18-character resident ID."""
        return hashlib.blake2b(person_id.encode(), key=self._mac, digest_size=16).digest()

    def digest_many(self, person_ids: list[str | None]) -> list[bytes | None]:
        """``digest`` for each ID (None stays None): copies of one keyed hash
        object, which skips setting up the key each time."""
        keyed = hashlib.blake2b(key=self._mac, digest_size=16)
        out = []
        for person_id in person_ids:
            if person_id is None:
                out.append(None)
            else:
                h = keyed.copy()
                h.update(person_id.encode())
                out.append(h.digest())
        return out
