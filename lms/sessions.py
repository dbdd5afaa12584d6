"""Sign-in sessions and the request transaction boundary.

The request is the unit of work: a response below 400 commits, anything else rolls back, so a
failed form or an error page never leaves half a change behind. Learners on shared terminals are
signed out after an idle period (admin setting ``learner_idle_minutes``).

Sessions are signed cookies, but they end on the server's terms: each carries the account's
``session_generation`` at sign-in and the sign-in time. ``session_current`` compares both with
the account on every request (the user look-up reads the generation in the same statement), so
raising the generation (sign-out, a new PIN or password, a disabled account, "sign out
everywhere") ends every copy of every cookie of that account at once, in every process; and
``session_lifetime_hours`` after sign-in a session ends however often the cookie was re-signed.
"""
from __future__ import annotations

import contextvars
import time

from flask import flash, g, has_request_context, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, logout_user, user_logged_in
from itsdangerous import BadSignature

from lms import bounded
from lms.extensions import db, login_manager
from lms.settings import register_default

GENERATION_KEY = "_gen"
SIGNED_IN_KEY = "_signed_in_at"
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", GENERATION_KEY, SIGNED_IN_KEY)
# A clock a little behind another host's must not refuse a session signed there a moment ago.
CLOCK_SKEW = 60


def session_current(data, generation, now: float | None = None) -> bool:
    """Whether a session (its data) still stands for its account: signed in under the account's
    current ``generation`` and within the absolute lifetime. The Flask path (``load_user``) and
    the heartbeat fast path both decide with this function."""
    signed_in = data.get(SIGNED_IN_KEY)
    if (data.get(GENERATION_KEY) != generation or isinstance(signed_in, bool)
            or not isinstance(signed_in, (int, float))):
        return False
    from lms.settings import get_setting

    now = time.time() if now is None else now
    return -CLOCK_SKEW <= now - signed_in <= 3600 * int(get_setting("session_lifetime_hours"))


def session_identifier(address: str | None, agent: str | None) -> str:
    """Flask-Login's session-protection identifier, from the client's address as ProxyFix leaves
    it (``REMOTE_ADDR``: a forged X-Forwarded-For counts only behind LMS_TRUSTED_PROXIES) and the
    browser. The heartbeat fast path computes it with this function too."""
    from hashlib import sha512

    return sha512(f"{address}|{agent}".encode("utf-8", "surrogatepass")).hexdigest()


def _request_identifier() -> str:
    return session_identifier(request.remote_addr, request.headers.get("User-Agent"))


def _stamp_session(sender, user, **extra) -> None:
    # Every sign-in (all routes call login_user) records what session_current checks.
    session[GENERATION_KEY] = user.session_generation or 0
    session[SIGNED_IN_KEY] = time.time()

# Requests that don't count as activity: background heartbeats keep a playing video alive, but
# static files and the idle check itself must not.
PASSIVE_ENDPOINTS = {"static", "main.session_status"}
# How stale the idle clock in the cookie may get: the cookie is re-signed at most once a minute
# (every fourth or fifth heartbeat of a playing video), against an idle limit of minutes
# (``learner_idle_minutes``, 10 by default), so a learner is signed out 10 to 11 minutes after
# their last activity. Re-signing is a tenth of a heartbeat's cost in the fast path.
IDLE_GRANULARITY = 60


# Endpoints that need only who the user is, their role and that the account is still active:
# they get a SessionUser read with one small query instead of the ORM User (1,000 heartbeats/s).
LIGHT_USER_ENDPOINTS = {"learning.progress"}


@login_manager.user_loader
def load_user(user_id: str):
    from lms.accounts.models import User

    if request.endpoint in LIGHT_USER_ENDPOINTS:
        user = SessionUser.load(int(user_id))
    else:
        user = db.session.get(User, int(user_id))
        user = user if user is not None and user.is_active else None
    if user is None or not session_current(session, user.session_generation):
        for key in _LOGIN_KEYS:  # the cookie is worthless: drop it rather than check it again
            session.pop(key, None)
        return None
    return user


class SessionUser:
    """The signed-in user as the light endpoints see it: read from the users table on every
    request, so a disabled account is refused on its next request, as with the full User."""

    __slots__ = ("id", "role", "locale", "session_generation")
    is_authenticated = True
    is_active = True
    is_anonymous = False
    _query = None

    def __init__(self, id, role, locale, session_generation):
        self.id, self.role, self.locale, self.session_generation = id, role, locale, session_generation

    # The session generation comes with the role: checking a session costs no extra round trip.
    COLUMNS = ("role", "locale", "session_generation")
    SQL = f"SELECT {', '.join(COLUMNS)} FROM users WHERE id = :id AND is_active_account"

    @classmethod
    def load(cls, user_id: int, sqlite_connection=None):
        """From the request's session, or from a bare SQLite driver connection if given."""
        from sqlalchemy import text

        if sqlite_connection is None:
            connection = db.session.connection()
            if connection.dialect.name == "sqlite":  # straight on the driver: see lms.learning.store
                sqlite_connection = connection.connection.driver_connection
        if sqlite_connection is not None:
            row = sqlite_connection.execute(cls.SQL, {"id": user_id}).fetchone()
        else:
            if cls._query is None:
                cls._query = text(cls.SQL)
            row = connection.execute(cls._query, {"id": user_id}).first()
        return None if row is None else cls.from_row(user_id, row)

    @classmethod
    def from_row(cls, user_id: int, row):
        """From the columns of ``SQL`` (the heartbeat fast path on PostgreSQL reads them in its
        own statement, lms.learning.store.PgFastStore)."""
        from lms.accounts.models import Role

        return cls(user_id, Role(row[0]), row[1], row[2])

    def get_id(self) -> str:
        return str(self.id)

    def has_role(self, *roles: str) -> bool:
        return self.role.value in roles


def idle_sign_out_due(last_seen: float | None, now: float) -> bool:
    """A learner last active at ``last_seen`` is to be signed out now (``learner_idle_minutes``).
    Flask's hook below and the heartbeat fast path both decide with this function."""
    from lms.settings import get_setting

    return last_seen is not None and now - last_seen > 60 * int(get_setting("learner_idle_minutes"))


def idle_clock_due(last_seen: float | None, now: float) -> bool:
    """The session's idle clock is to move (and the cookie to be re-signed): see IDLE_GRANULARITY."""
    return last_seen is None or now - last_seen > IDLE_GRANULARITY


def _enforce_idle_signout():
    if request.endpoint in PASSIVE_ENDPOINTS or not current_user.is_authenticated:
        return None
    if current_user.role.value != "learner":
        return None
    from lms.settings import get_setting

    now = time.time()
    last_seen = session.get("last_seen")
    if idle_sign_out_due(last_seen, now):
        limit = 60 * int(get_setting("learner_idle_minutes"))
        logout_user()
        session.pop("last_seen", None)
        g.signed_out_idle = True
        if request.path.startswith("/api/"):
            return None  # the API answers 401 itself
        flash(_("You were signed out after %(minutes)s minutes without activity.", minutes=limit // 60), "info")
        return redirect(url_for("accounts.signin", next=request.full_path if request.method == "GET" else None))
    # Rewriting the signed cookie on every heartbeat costs more than the idle clock needs
    # (IDLE_GRANULARITY).
    if idle_clock_due(last_seen, now):
        session["last_seen"] = now
    return None


class CachingSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, remembering cookies already verified in this process.

    A player sends the same cookie with every heartbeat (it changes at most once a minute, see
    ``IDLE_GRANULARITY``); checking its signature, inflating and parsing it each time is most of
    a heartbeat's session cost. The cache is keyed by the whole signed value, so a hit proves what
    the signature check proved; the cookie's age is still checked against the session lifetime.
    Only sessions of plain values are cached, so no request can change a cached one in place.
    """

    # About 1 KB each: a server's learners (1,000 heartbeats/s at 15 s is 15,000) and their
    # re-signed cookies; the oldest go first (lms.bounded).
    MAX_ENTRIES = 32768

    def __init__(self):
        self._verified: dict[str, tuple[dict, float]] = {}

    def get_cookie_secure(self, app) -> bool:
        """Secure whenever the request came over HTTPS (after ProxyFix), or always with LMS_HTTPS."""
        if app.config["SESSION_COOKIE_SECURE"] or _REWRITE_SECURE.get():
            return True
        return has_request_context() and request.is_secure

    def load(self, app, value: str) -> dict | None:
        """The contents of a session cookie (a copy), or None when it is not a valid, unexpired
        one: from the cache of cookies this process has verified, else by checking its
        signature here and remembering it. Flask's ``open_session`` and the heartbeat fast path
        both read cookies with this method, so a cookie re-signed by another worker is checked
        once, by the same rule, wherever it arrives next."""
        hit = self._verified.get(value)
        max_age = app.permanent_session_lifetime.total_seconds()
        if hit is not None:
            return dict(hit[0]) if time.time() - hit[1] <= max_age else None
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        try:
            data, signed_at = serializer.loads(value, max_age=int(max_age), return_timestamp=True)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        self._remember(value, data, signed_at.timestamp())
        return dict(data)

    def _remember(self, value: str, data, signed_at: float) -> None:
        if all(isinstance(v, (str, int, float, bool, type(None))) for v in data.values()):
            bounded.put(self._verified, value, (dict(data), signed_at), self.MAX_ENTRIES)

    def open_session(self, app, request):
        value = request.cookies.get(self.get_cookie_name(app))
        if not value or self.get_signing_serializer(app) is None:
            return super().open_session(app, request)
        data = self.load(app, value)
        return self.session_class(data or {})

    def save_session(self, app, session, response) -> None:
        signed_at = float(int(time.time()))  # itsdangerous signs whole seconds, at or after this
        super().save_session(app, session, response)
        if session.modified and session:  # the cookie just signed is known without checking it
            prefix = self.get_cookie_name(app) + "="
            for header in response.headers.getlist("Set-Cookie"):
                if header.startswith(prefix):
                    self._remember(header[len(prefix):].split(";", 1)[0], session, signed_at)

    def rewrite(self, app, data: dict, secure: bool = False) -> list[str]:
        """Set-Cookie headers for a session changed outside a request (the heartbeat fast path;
        ``secure``: the request came over HTTPS)."""
        session = self.session_class(data)
        session.modified = True
        response = app.response_class()
        token = _REWRITE_SECURE.set(secure)
        try:
            self.save_session(app, session, response)
        finally:
            _REWRITE_SECURE.reset(token)
        return response.headers.getlist("Set-Cookie")


_REWRITE_SECURE: contextvars.ContextVar[bool] = contextvars.ContextVar("rewrite_secure", default=False)


def _finish_transaction(response):
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def init_app(app) -> None:
    register_default("learner_idle_minutes", 10, _l("Minutes of inactivity before a learner is signed out"), int)
    register_default("session_lifetime_hours", 12,
                     _l("Hours after signing in when a session ends however active it is (every role)"), int)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.signin"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    # "strong": a cookie used from another address or browser than at sign-in is refused (the
    # session is emptied), on the fast path too; a learner whose address changed signs in again.
    login_manager.session_protection = "strong"
    login_manager._session_identifier_generator = _request_identifier

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import abort

        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            abort(401)
        flash(_("Please sign in to see this page."), "info")
        return redirect(url_for("accounts.signin", next=request.full_path))

    user_logged_in.connect(_stamp_session, app)
    app.session_interface = CachingSessionInterface()
    app.before_request(_enforce_idle_signout)
    app.after_request(_finish_transaction)
