"""gzip for text responses: pages must load over 2G/3G links shared by a whole village.

nginx can do this in production, but the page budget is measured through the app, so the app
compresses too. Static files are compressed once per version and kept in memory.
"""
from __future__ import annotations

import gzip

from flask import request

COMPRESSIBLE = ("text/", "application/json", "application/javascript", "image/svg+xml",
                "application/vnd.apple.mpegurl", "application/x-mpegurl")
MIN_SIZE = 500
_STATIC_CACHE: dict[tuple[str, str], bytes] = {}


def _compress(response):
    if (response.status_code != 200 or "Content-Encoding" in response.headers
            or "Content-Range" in response.headers or request.method == "HEAD"
            or "gzip" not in request.headers.get("Accept-Encoding", "")
            or not (response.mimetype or "").startswith(COMPRESSIBLE)):
        return response
    static = bool(request.endpoint and request.endpoint.endswith("static"))
    cache_key = (request.path, response.headers.get("ETag", ""))
    body = _STATIC_CACHE.get(cache_key) if static else None
    if body is not None and hasattr(response.response, "close"):
        response.response.close()  # the file send_file opened: served from the cache instead
    if body is None:
        original = response.response
        response.direct_passthrough = False
        data = response.get_data()
        if hasattr(original, "close"):
            original.close()
        if len(data) < MIN_SIZE:
            return response
        body = gzip.compress(data, compresslevel=6 if static else 5)
        if static:
            _STATIC_CACHE[cache_key] = body
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(body))
    response.vary.add("Accept-Encoding")
    return response


def init_app(app) -> None:
    app.after_request(_compress)
