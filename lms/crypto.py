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
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app


@lru_cache(maxsize=8)
def _derived_keys(data_key: str) -> tuple[bytes, bytes]:
    root = hashlib.sha256(data_key.encode()).digest()
    enc = hmac.new(root, b"xiangxue/encrypt/v1", hashlib.sha256).digest()
    mac = hmac.new(root, b"xiangxue/lookup/v1", hashlib.sha256).digest()
    return enc, mac


def _keys() -> tuple[bytes, bytes]:
    return _derived_keys(current_app.config["DATA_KEY"])


def normalize_identifier(value: str) -> str:
    """Full-width → half-width, no spaces, no Excel text apostrophe, upper case (a lowercase x check digit)."""
    value = unicodedata.normalize("NFKC", value or "")
    return value.replace(" ", "").strip().lstrip("'").upper()


def keyed_hash(value: str, purpose: str = "id") -> str:
    """Deterministic HMAC for look-up and uniqueness; ``purpose`` separates the namespaces."""
    mac = hmac.new(_keys()[1], f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def encrypt(value: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_keys()[0]).encrypt(nonce, value.encode(), None)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    raw = base64.urlsafe_b64decode(token.encode())
    return AESGCM(_keys()[0]).decrypt(raw[:12], raw[12:], None).decode()


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
