"""The app's own segment server: a WSGI layer in front of Flask for ``/media/s/…`` (signed links).

A player fetches a segment every few seconds, and nginx normally answers these itself
(``secure_link``, README "Production"). When the app serves them (no nginx in front, tests, a
laptop), they skip Flask entirely: parse the path, check the token (one MD5), stat the file and
hand it to the server's ``wsgi.file_wrapper`` (gunicorn sends it with sendfile). It answers Range
(206, 416), If-None-Match / If-Modified-Since (304), HEAD, and with ``LMS_MEDIA_ACCEL`` an
``X-Accel-Redirect`` instead of the bytes. A bad path is 404, a bad or expired token 403.
"""
from __future__ import annotations

import os
import re
import stat
from email.utils import formatdate, parsedate_to_datetime

from . import links

IMMUTABLE = "public, max-age=31536000, immutable"
# /media/s/<expires>-<token>/<asset>/v<version>/<rung>/<file>: a rung folder has no dot and the
# file is an init or a segment, so nothing else in (or outside) the version folder is reachable.
_PATH = re.compile(r"^/media/s/(\d{1,12})-([A-Za-z0-9_-]{22})/(\d{1,12})/v(\d{1,9})/"
                   rf"({links.RUNG})/({links.FILE})$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
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
        relative = f"assets/{asset}/v{version}/{rung}/{name}"
        filename = os.path.join(str(self.config["MEDIA_ROOT"]), relative)
        try:
            st = os.stat(filename)
        except OSError:
            return _status(start_response, "404 Not Found")
        if not stat.S_ISREG(st.st_mode):
            return _status(start_response, "404 Not Found")
        mimetype = TYPES.get(name.rpartition(".")[2], "application/octet-stream")
        accel = self.config.get("MEDIA_ACCEL")
        if accel:
            start_response("200 OK", [("X-Accel-Redirect", accel.rstrip("/") + "/" + relative),
                                      ("Content-Type", mimetype), ("Cache-Control", IMMUTABLE),
                                      ("Content-Length", "0")])
            return [b""]
        size = st.st_size
        etag = f'"{st.st_mtime_ns:x}-{size:x}"'
        headers = [("Content-Type", mimetype), ("Cache-Control", IMMUTABLE), ("ETag", etag),
                   ("Last-Modified", formatdate(st.st_mtime, usegmt=True)), ("Accept-Ranges", "bytes")]
        if _not_modified(environ, etag, st.st_mtime):
            start_response("304 Not Modified", headers)
            return []
        start, length, status = 0, size, "200 OK"
        wanted = environ.get("HTTP_RANGE")
        if wanted and _if_range_holds(environ.get("HTTP_IF_RANGE"), etag, st.st_mtime):
            span = _parse_range(wanted, size)
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
            wrapper = environ.get("wsgi.file_wrapper")
            if wrapper is not None:
                return wrapper(fh, CHUNK)  # gunicorn: sendfile(2)
            return _FileRange(fh, 0, size)
        return _FileRange(fh, start, length)


def _status(start_response, status, extra=()):
    body = status.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-store"), *extra])
    return [body]


def _not_modified(environ, etag, mtime) -> bool:
    match = environ.get("HTTP_IF_NONE_MATCH")
    if match is not None:
        tags = [t.strip().removeprefix("W/") for t in match.split(",")]
        return "*" in tags or etag in tags
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if since:
        try:
            return int(mtime) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False
    return False


def _if_range_holds(if_range, etag, mtime) -> bool:
    if not if_range:
        return True
    if if_range.startswith('"') or if_range.startswith("W/"):
        return if_range == etag
    try:
        return int(mtime) <= parsedate_to_datetime(if_range).timestamp()
    except (TypeError, ValueError):
        return False


def _parse_range(header: str, size: int):
    """(start, length) for one satisfiable range, "unsatisfiable", or None (serve it whole:
    several ranges or a malformed header, as RFC 9110 allows)."""
    m = _RANGE.match(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        return None
    first, last = m.groups()
    if not first:  # the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            return "unsatisfiable"
        n = min(n, size)
        return size - n, n
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, end - start + 1


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

