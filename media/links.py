"""Signed segment links: the player's segment requests need no session and no database.

A signed-in user fetches the master and variant playlists from the app (session-checked). The app
writes each segment and init URI into the variant playlist as

    /media/s/<expires>-<token>/<asset>/v<version>/<rung>/<file>

with ``token = base64url(md5("<expires>/<asset>/v<version>/<rung> <secret>"))`` (no padding):
exactly nginx's ``secure_link_md5 "$secure_link_expires/$media_asset/v$media_version/$media_rung
<secret>"`` (``media.nginx``), so nginx checks the link itself and sends the file (README,
"Production"); without nginx the app's WSGI fast path (``media.fastpath``) checks the same token.
One token opens the init and segment files of one rung of one published version of one asset,
nothing else in the folder (not the playlists, the MP4, the poster or another rung: those are
checked against who may watch the asset, in ``media.views``); it expires at a day boundary between one and two days ahead, so the URLs stay the same
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
# What a signed link may name (the same patterns as media.nginx and media.fastpath): a rung folder
# (letters and digits: no dot, so never ".."), and in it an init or a segment file.
RUNG = r"[A-Za-z0-9_]{1,16}"
FILE = r"init[A-Za-z0-9_]{0,16}\.mp4|seg_[0-9]{1,9}\.m4s"
_RUNG_RE = re.compile(rf"^(?:{RUNG})$")
_FILE_RE = re.compile(rf"^(?:{FILE})$")


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


def token(secret: str, expires: int, asset_id: int, version: int, rung: str) -> str:
    raw = f"{expires}/{asset_id}/v{version}/{rung} {secret}".encode()
    return base64.urlsafe_b64encode(hashlib.md5(raw).digest()).rstrip(b"=").decode()


def expiry(now: float | None = None) -> int:
    """The next day boundary plus a day: stable URLs all day, valid for one to two days."""
    now = time.time() if now is None else now
    return (int(now) // PERIOD + 2) * PERIOD


def valid(secret: str, expires: str, given: str, asset_id: int, version: int, rung: str,
          now: float | None = None) -> bool:
    if not expires.isdigit() or int(expires) < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(token(secret, int(expires), asset_id, version, rung), given)


def is_rung(name: str) -> bool:
    return _RUNG_RE.match(name) is not None


def is_signed_file(name: str) -> bool:
    """An init or segment file name: the only files a signed link opens."""
    return _FILE_RE.match(name) is not None


def signed_prefix(asset_id: int, version: int, rung: str, expires: int | None = None) -> str:
    """``/media/s/<expires>-<token>/<asset>/v<version>/<rung>/`` for the current app and request."""
    if not is_rung(rung):
        raise ValueError(f"not a rung folder: {rung!r}")
    expires = expiry() if expires is None else expires
    secret = current_app.extensions["media_link_secret"]
    root = request.script_root if request else ""
    signed = token(secret, expires, asset_id, version, rung)
    return f"{root}{PREFIX}{expires}-{signed}/{asset_id}/v{version}/{rung}/"


def rewrite_playlist(text: str, prefix: str) -> str:
    """A variant playlist with its init and segment URIs made signed, absolute paths.

    ``prefix`` is the rung's signed prefix (``…/v1/360p/``). Only init and segment names are
    allowed (a signed link opens nothing else); anything else is refused.
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
    if not is_signed_file(name):
        raise ValueError(f"unexpected URI in a playlist: {name!r}")
    return prefix + name
