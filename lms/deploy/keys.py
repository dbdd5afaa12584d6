"""The shared keys: generating them, and rotating the data key (``flask keys …``)."""
from __future__ import annotations

import secrets

from lms.config import KEYS


def generate() -> dict[str, str]:
    """Fresh values for the three keys (letters, digits, - and _: safe in a shell and in nginx's
    ``secure_link_md5``, which the media link secret is written into)."""
    return {variable: secrets.token_urlsafe(48) for variable in KEYS.values()}
