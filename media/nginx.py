"""The nginx ``location`` blocks for media: the single source of them.

README "Production", ``bench/stream.py`` and ``flask deploy nginx`` all take their media locations
from :func:`media_locations`, so the layout that is benchmarked, documented and generated is one
text. The signed location must agree with ``media.links`` (token and URL shape) and with the WSGI
fast path (``media.fastpath``) that checks the same links when no nginx is in front.
"""
from __future__ import annotations

import re

# Written literally into nginx's configuration: refuse anything that could end a directive or a
# string (spaces, quotes, semicolons, braces, $ variables).
_ROOT_RE = re.compile(r"^/[A-Za-z0-9_./~-]*$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_.~-]{16,}$")

# The regex is quoted: nginx would read its { } as a block.
_TEMPLATE = r"""    location /_media/ {
        internal;                       # only reachable through X-Accel-Redirect from the app
        alias @MEDIA@/;     # = LMS_MEDIA_ROOT (Cache-Control: the app's, public or private)
    }
    # Signed segment links: /media/s/<expires>-<token>/<asset>/v<version>/<rung>/<init or segment>
    location ~ "^/media/s/(?<media_expires>\d+)-(?<media_token>[A-Za-z0-9_-]{22})/(?<media_asset>\d+)/v(?<media_version>\d+)/(?<media_rung>[A-Za-z0-9_]{1,16})/(?<media_file>init[A-Za-z0-9_]{0,16}\.mp4|seg_[0-9]{1,9}\.m4s)$" {
        secure_link $media_token,$media_expires;
        secure_link_md5 "$secure_link_expires/$media_asset/v$media_version/$media_rung @SECRET@";
        if ($secure_link = "") { return 403; }     # forged, or another asset's, version's or rung's
        if ($secure_link = "0") { return 403; }    # expired
        alias @MEDIA@/assets/$media_asset/v$media_version/$media_rung/$media_file;
        add_header Cache-Control "public, max-age=31536000, immutable";
        types { video/iso.segment m4s; video/mp4 mp4; }
    }
    location /media/s/ { return 404; }             # anything else: playlists, MP4, poster, traversal
"""


def media_locations(media_root: str, secret: str) -> str:
    """The media ``location`` blocks (indented for a ``server { }``), for ``LMS_MEDIA_ROOT``
    ``media_root`` and ``LMS_MEDIA_LINK_SECRET`` ``secret`` (or a placeholder of the same
    alphabet, such as ``CHANGE-ME-to-LMS_MEDIA_LINK_SECRET``)."""
    root = media_root.rstrip("/")
    if not root or not _ROOT_RE.match(root) or "/../" in root + "/":
        raise ValueError(f"media root must be an absolute path of plain characters: {media_root!r}")
    if not _SECRET_RE.match(secret):
        raise ValueError("the media link secret must be at least 16 letters, digits or - _ . ~")
    return _TEMPLATE.replace("@MEDIA@", root).replace("@SECRET@", secret)
