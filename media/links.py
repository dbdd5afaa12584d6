"""Signed segment links: the player's segment requests need no session and no database.

A signed-in user fetches the master and variant playlists from the app (session-checked). The app
writes each segment and init URI into the variant playlist as

    /media/s/<expires>-<token>/<asset>/v<version>/<rung>/<file>

with ``token = base64url(md5("<expires>/<asset>/v<version> <secret>"))`` (no padding): exactly
nginx's ``secure_link_md5 "$secure_link_expires/$media_asset/v$media_version <secret>"``, so
nginx checks the link itself and sends the file (README, "Production"); without nginx the app's
WSGI fast path (``media.fastpath``) checks the same token. One token covers one published version
of one asset; it expires at a day boundary between one and two days ahead, so the URLs stay the same
all day (a browser or a village proxy caches each segment once) and a copied link dies within two
days. The secret is ``LMS_MEDIA_LINK_SECRET``, or derived from the secret key when unset.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

from flask import current_app, request

PREFIX = "/media/s/"
PERIOD = 86400  # links change at most once a day
# Letters, digits and - _ . ~ only: the secret is written literally into nginx's configuration.
SECRET_RE = re.compile(r"^[A-Za-z0-9_.~-]{16,}$")
_URI_ATTR = re.compile(r'URI="([^"]+)"')


def derive_secret(secret_key: str) -> str:
    digest = hmac.new(secret_key.encode(), b"xiangxue media links", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def secret_for(config) -> str:
    """The configured link secret (validated), else one derived from SECRET_KEY."""
    secret = config.get("MEDIA_LINK_SECRET")
    if not secret:
        return derive_secret(str(config["SECRET_KEY"]))
    if not SECRET_RE.match(secret):
        raise ValueError("LMS_MEDIA_LINK_SECRET must be at least 16 letters, digits or - _ . ~ "
                         "(it is written literally into nginx's secure_link_md5)")
    return secret


def token(secret: str, expires: int, asset_id: int, version: int) -> str:
    raw = f"{expires}/{asset_id}/v{version} {secret}".encode()
    return base64.urlsafe_b64encode(hashlib.md5(raw).digest()).rstrip(b"=").decode()


def expiry(now: float | None = None) -> int:
    """The next day boundary plus a day: stable URLs all day, valid for one to two days."""
    now = time.time() if now is None else now
    return (int(now) // PERIOD + 2) * PERIOD


def valid(secret: str, expires: str, given: str, asset_id: int, version: int, now: float | None = None) -> bool:
    if not expires.isdigit() or int(expires) < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(token(secret, int(expires), asset_id, version), given)


def signed_prefix(asset_id: int, version: int, expires: int | None = None) -> str:
    """``/media/s/<expires>-<token>/<asset>/v<version>/`` for the current app and request."""
    expires = expiry() if expires is None else expires
    secret = current_app.extensions["media_link_secret"]
    root = request.script_root if request else ""
    return f"{root}{PREFIX}{expires}-{token(secret, expires, asset_id, version)}/{asset_id}/v{version}/"


def rewrite_playlist(text: str, prefix: str) -> str:
    """A variant playlist with its init and segment URIs made signed, absolute paths.

    ``prefix`` is the signed prefix plus the rung's folder (``…/v1/360p/``). Only plain relative
    names are rewritten; anything else (there is nothing else in our playlists) is dropped.
    """
    out = []
    for line in text.splitlines():
        if line.startswith("#EXT-X-MAP:"):
            line = _URI_ATTR.sub(lambda m: f'URI="{_signed(prefix, m.group(1))}"', line)
        elif line and not line.startswith("#"):
            line = _signed(prefix, line.strip())
        out.append(line)
    return "\n".join(out) + "\n"


def _signed(prefix: str, name: str) -> str:
    if "/" in name or name.startswith(".") or ":" in name:
        raise ValueError(f"unexpected URI in a playlist: {name!r}")
    return prefix + name
