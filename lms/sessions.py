"""Sign-in sessions and the request transaction boundary.

The request is the unit of work: a response below 400 commits, anything else rolls back, so a
failed form or an error page never leaves half a change behind. Learners on shared terminals are
signed out after an idle period (admin setting ``learner_idle_minutes``).
"""
from __future__ import annotations

import time

from flask import flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, logout_user
from itsdangerous import BadSignature

from lms.extensions import db, login_manager
from lms.settings import register_default

register_default("learner_idle_minutes", 10, _l("Minutes of inactivity before a learner is signed out"), int)

# Requests that don't count as activity: background heartbeats keep a playing video alive, but
# static files and the idle check itself must not.
PASSIVE_ENDPOINTS = {"static", "main.session_status"}
IDLE_GRANULARITY = 30


# Endpoints that need only who the user is, their role and that the account is still active:
# they get a SessionUser read with one small query instead of the ORM User (1,000 heartbeats/s).
LIGHT_USER_ENDPOINTS = {"learning.progress"}


@login_manager.user_loader
def load_user(user_id: str):
    from lms.accounts.models import User

    if request.endpoint in LIGHT_USER_ENDPOINTS:
        return SessionUser.load(int(user_id))
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.is_active else None


class SessionUser:
    """The signed-in user as the light endpoints see it: read from the users table on every
    request, so a disabled account is refused on its next request, as with the full User."""

    __slots__ = ("id", "role", "locale")
    is_authenticated = True
    is_active = True
    is_anonymous = False
    _query = None

    def __init__(self, id, role, locale):
        self.id, self.role, self.locale = id, role, locale

    SQL = "SELECT role, locale FROM users WHERE id = :id AND is_active_account"

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

        return cls(user_id, Role(row[0]), row[1])

    def get_id(self) -> str:
        return str(self.id)

    def has_role(self, *roles: str) -> bool:
        return self.role.value in roles


def _enforce_idle_signout():
    if request.endpoint in PASSIVE_ENDPOINTS or not current_user.is_authenticated:
        return None
    if current_user.role.value != "learner":
        return None
    from lms.settings import get_setting

    now = time.time()
    last_seen = session.get("last_seen")
    limit = 60 * int(get_setting("learner_idle_minutes"))
    if last_seen is not None and now - last_seen > limit:
        logout_user()
        session.pop("last_seen", None)
        g.signed_out_idle = True
        if request.path.startswith("/api/"):
            return None  # the API answers 401 itself
        flash(_("You were signed out after %(minutes)s minutes without activity.", minutes=limit // 60), "info")
        return redirect(url_for("accounts.signin", next=request.full_path if request.method == "GET" else None))
    # Rewriting the signed cookie on every heartbeat costs more than the idle clock needs: a
    # 30 s granularity against a limit of minutes.
    if last_seen is None or now - last_seen > IDLE_GRANULARITY:
        session["last_seen"] = now
    return None


class CachingSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, remembering cookies already verified in this process.

    A player sends the same cookie with every heartbeat (it changes at most every 30 s, see
    ``IDLE_GRANULARITY``); checking its signature, inflating and parsing it each time is most of
    a heartbeat's session cost. The cache is keyed by the whole signed value, so a hit proves what
    the signature check proved; the cookie's age is still checked against the session lifetime.
    Only sessions of plain values are cached, so no request can change a cached one in place.
    """

    MAX_ENTRIES = 8192

    def __init__(self):
        self._verified: dict[str, tuple[dict, float]] = {}

    def verified(self, app, value: str) -> dict | None:
        """The contents of a session cookie this process has verified, if it is not too old
        (a copy; None otherwise)."""
        hit = self._verified.get(value)
        if hit is not None and time.time() - hit[1] <= app.permanent_session_lifetime.total_seconds():
            return dict(hit[0])
        return None

    def _remember(self, value: str, data, signed_at: float) -> None:
        if all(isinstance(v, (str, int, float, bool, type(None))) for v in data.values()):
            if len(self._verified) >= self.MAX_ENTRIES:
                self._verified.clear()
            self._verified[value] = (dict(data), signed_at)

    def open_session(self, app, request):
        value = request.cookies.get(self.get_cookie_name(app))
        data = self.verified(app, value) if value else None
        if data is not None:
            return self.session_class(data)
        serializer = self.get_signing_serializer(app)
        if serializer is None or not value:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        self._remember(value, data, signed_at.timestamp())
        return self.session_class(data)

    def save_session(self, app, session, response) -> None:
        signed_at = float(int(time.time()))  # itsdangerous signs whole seconds, at or after this
        super().save_session(app, session, response)
        if session.modified and session:  # the cookie just signed is known without checking it
            prefix = self.get_cookie_name(app) + "="
            for header in response.headers.getlist("Set-Cookie"):
                if header.startswith(prefix):
                    self._remember(header[len(prefix):].split(";", 1)[0], session, signed_at)

    def rewrite(self, app, data: dict) -> list[str]:
        """Set-Cookie headers for a session changed outside a request (the heartbeat fast path)."""
        session = self.session_class(data)
        session.modified = True
        response = app.response_class()
        self.save_session(app, session, response)
        return response.headers.getlist("Set-Cookie")


def _finish_transaction(response):
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.signin"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import abort

        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            abort(401)
        flash(_("Please sign in to see this page."), "info")
        return redirect(url_for("accounts.signin", next=request.full_path))

    app.session_interface = CachingSessionInterface()
    app.before_request(_enforce_idle_signout)
    app.after_request(_finish_transaction)
