"""Security headers on every response."""
from __future__ import annotations

# No inline script anywhere: pages load their JS from /static. blob: lets hls.js feed MSE.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)


HEADERS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
           ("X-Frame-Options", "SAMEORIGIN"), ("Referrer-Policy", "same-origin"))


def _headers(response):
    for name, value in HEADERS:
        response.headers.setdefault(name, value)
    return response


def init_app(app) -> None:
    app.after_request(_headers)
