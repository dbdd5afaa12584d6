"""Security headers on every response, and the client's address behind trusted proxies."""
from __future__ import annotations

from flask import request

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
    if request.is_secure:  # browsers keep to HTTPS for a year once they have seen it here
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def trust_proxies(app) -> None:
    """With ``LMS_TRUSTED_PROXIES=N`` (the proxies in front, nginx: 1), werkzeug's ProxyFix takes
    the client's address and scheme from the last N ``X-Forwarded-For``/``-Proto`` entries, so
    lockouts, rate limits, the audit log, Flask-Login and the heartbeat fast path all see the
    client behind nginx and ``request.is_secure`` says whether it came over HTTPS. Without it
    those headers are ignored: anyone can send them."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)


def init_app(app) -> None:
    app.after_request(_headers)
