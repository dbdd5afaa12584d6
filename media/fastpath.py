"""The app's own segment server: a WSGI layer in front of Flask for ``/media/s/…`` (signed links).

A player fetches a segment every few seconds, and nginx normally answers these itself
(``secure_link``, README "Production"). When the app serves them (no nginx in front, tests, a
laptop), they skip Flask entirely: parse the path, check the token (one MD5), resolve the file
with the Flask view's own function (``media.storage.published_file``) and hand it to the server's
``wsgi.file_wrapper`` (werkzeug's ``wrap_file``; gunicorn sends it with sendfile). Range (206, 416),
If-Range, If-None-Match and If-Modified-Since (304) are judged by werkzeug's HTTP helpers
(``parse_range_header``, ``is_resource_modified``); HEAD; the app's security headers; with
``LMS_MEDIA_ACCEL`` an ``X-Accel-Redirect`` instead of the bytes. A bad path is 404, a bad or
expired token 403. No Response object per segment: this answers a player every few seconds.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timezone

from werkzeug.http import http_date, is_resource_modified, parse_range_header
from werkzeug.wsgi import wrap_file

from lms import security

from . import links, storage

IMMUTABLE = "public, max-age=31536000, immutable"
# /media/s/<expires>-<token>/<asset>/v<version>/<rung>/<file>: a rung folder has no dot and the
# file is an init or a segment, so nothing else in (or outside) the version folder is reachable.
_PATH = re.compile(r"^/media/s/(\d{1,12})-([A-Za-z0-9_-]{22})/(\d{1,12})/v(\d{1,9})/"
                   rf"({links.RUNG})/({links.FILE})$")
TYPES = {"m4s": "video/iso.segment", "mp4": "video/mp4", "m3u8": "application/vnd.apple.mpegurl",
         "jpg": "image/jpeg", "m4a": "audio/mp4"}
CHUNK = 256 * 1024


class SignedMedia:
    """WSGI middleware: answers ``/media/s/…`` itself and passes everything else to ``app``."""

    def __init__(self, wsgi_app, flask_app, secret: str):
        self.wsgi_app = wsgi_app
        self.config = flask_app.config
        self.secret = secret
        # Secrets being rotated out (LMS_MEDIA_LINK_SECRET_OLD) still verify the links handed out
        # under them, until those expire (two days at most).
        self.secrets = (secret, *flask_app.config.get("MEDIA_LINK_SECRET_FALLBACKS", ()))

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(links.PREFIX):
            return self.wsgi_app(environ, start_response)
        return self.serve(environ, start_response, path)

    def serve(self, environ, start_response, path):
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD"):
            return _status(start_response, "405 Method Not Allowed", [("Allow", "GET, HEAD")])
        m = _PATH.match(path)
        if m is None:
            return _status(start_response, "404 Not Found")
        expires, given, asset, version, rung, name = m.groups()
        if not any(links.valid(secret, expires, given, int(asset), int(version), rung) for secret in self.secrets):
            return _status(start_response, "403 Forbidden")
        filename = storage.published_file(self.config["MEDIA_ROOT"], int(asset), int(version), f"{rung}/{name}")
        if filename is None:
            return _status(start_response, "404 Not Found")
        mimetype = TYPES.get(name.rpartition(".")[2], "application/octet-stream")
        accel = self.config.get("MEDIA_ACCEL")
        if accel:
            relative = storage.version_relpath(int(asset), int(version), f"{rung}/{name}")
            start_response("200 OK", [("X-Accel-Redirect", accel.rstrip("/") + "/" + relative),
                                      ("Content-Type", mimetype), ("Cache-Control", IMMUTABLE),
                                      ("Content-Length", "0"), *security.HEADERS])
            return [b""]
        st = os.stat(filename)
        size = st.st_size
        etag = f"{st.st_mtime_ns:x}-{size:x}"
        modified = datetime.fromtimestamp(st.st_mtime, timezone.utc)
        headers = [("Content-Type", mimetype), ("Cache-Control", IMMUTABLE), ("ETag", f'"{etag}"'),
                   ("Last-Modified", http_date(modified)), ("Accept-Ranges", "bytes"), *security.HEADERS]
        if not is_resource_modified(environ, etag=etag, last_modified=modified):
            start_response("304 Not Modified", headers)
            return []
        start, length, status = 0, size, "200 OK"
        # An If-Range that no longer holds (the file changed) asks for the whole file.
        wanted = environ.get("HTTP_RANGE")
        if wanted and (not environ.get("HTTP_IF_RANGE") or not is_resource_modified(
                environ, etag=etag, last_modified=modified, ignore_if_range=False)):
            span = _span(wanted, size)
            if span == "unsatisfiable":
                headers += [("Content-Range", f"bytes */{size}"), ("Content-Length", "0")]
                start_response("416 Range Not Satisfiable", headers)
                return [b""]
            if span is not None:
                start, length = span
                status = "206 Partial Content"
                headers.append(("Content-Range", f"bytes {start}-{start + length - 1}/{size}"))
        headers.append(("Content-Length", str(length)))
        start_response(status, headers)
        if method == "HEAD":
            return [b""]
        fh = open(filename, "rb")
        if start == 0 and length == size:
            return wrap_file(environ, fh, CHUNK)  # gunicorn's file wrapper: sendfile(2)
        return _FileRange(fh, start, length)


def _status(start_response, status, extra=()):
    body = status.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-store"), *security.HEADERS, *extra])
    return [body]


def _span(header: str, size: int):
    """(start, length) for one satisfiable range, "unsatisfiable", or None (serve it whole:
    several ranges or a malformed header, as RFC 9110 allows), by werkzeug's parser."""
    wanted = parse_range_header(header)
    if wanted is None or len(wanted.ranges) != 1:
        return None
    span = wanted.range_for_length(size)
    if span is None:
        return "unsatisfiable"
    return span[0], span[1] - span[0]


class _FileRange:
    """``length`` bytes of ``fh`` from ``start``; closes the file when the server closes it."""

    def __init__(self, fh, start, length):
        self.fh, self.start, self.length = fh, start, length

    def __iter__(self):
        self.fh.seek(self.start)
        left = self.length
        while left > 0:
            data = self.fh.read(min(CHUNK, left))
            if not data:
                break
            left -= len(data)
            yield data

    def close(self):
        self.fh.close()


def install(app) -> None:
    """Wrap the app's WSGI callable (once per app) with the segment fast path."""
    secret = links.secret_for(app.config)
    app.extensions["media_link_secret"] = secret
    app.wsgi_app = SignedMedia(app.wsgi_app, app, secret)

