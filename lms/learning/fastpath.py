"""Heartbeats in front of Flask: the steady state of ``POST /api/v1/progress``.

A player sends a heartbeat every 15 s; a village full of learners makes it the busiest request
by far, and most of its cost was the page machinery around it (hooks, the request context, the
rate limiter, the ORM session's bookkeeping). This WSGI layer answers the common case with the
same pieces the view uses, and hands every other case to Flask unchanged, where
``lms.learning.views.progress`` answers it:

- the session cookie must be valid, read by the same method Flask's ``open_session`` uses
  (``CachingSessionInterface.load``: remembered once its signature was checked, so a cookie
  re-signed by another worker costs one check here, not a trip through Flask); the signed-in
  user id comes from it, and the account is read from the database on every
  heartbeat (``SessionUser.load``: a disabled account goes to Flask, which answers 401), with
  its session generation in the same statement, and ``lms.sessions.session_current`` — the
  function Flask's user loader calls — must accept the session (not ended by a sign-out, a new
  PIN, a disabled account or "sign out everywhere", and within its absolute lifetime);
- Flask-Login's session protection must hold (same address and browser as at sign-in);
- the idle sign-out must not be due (a learner's ``last_seen`` within the idle limit); when the
  idle clock is due to move, the cookie is rewritten here exactly as Flask would;
- the CSRF token must be one already verified and equal to this session's;
- the heartbeat must be accepted, the lesson open to the learner included
  (``lms.learning.access``, checked inside ``record_heartbeat`` as on the Flask path): a refused
  one (400, 404, ...) is rolled back and re-run by Flask, which answers with the translated
  message.

Anything unexpected also goes to Flask (it then meets the same problem and reports it), logged
once per cause per process first.

Flask's before- and after-request hooks do not run for the heartbeats answered here: a new
app-wide hook that heartbeats must go through has to be called here as well (the security headers
are, from ``lms.security.HEADERS``; the rate limiter and page compression deliberately are not).
``tests/security/test_sessions.py`` lists every ``before_request`` hook with the reason this path
may skip it, and fails on a new one. ProxyFix (``LMS_TRUSTED_PROXIES``) wraps this layer, so the
address seen here is the one Flask sees.
"""
from __future__ import annotations

import collections
import contextlib
import fcntl
import io
import json
import logging
import os
import threading
import time

from lms import bounded, inputs, security

log = logging.getLogger(__name__)
PATH = "/api/v1/progress"
# Causes of unexpected failures already logged by this process: each is logged once, then the
# heartbeat quietly goes to Flask (which meets the same problem and reports it per request).
_logged_causes: set[tuple[str, str]] = set()
UNAVAILABLE = object()  # answer(): the database is away


class Defer(str):
    """answer(): Flask answers this heartbeat, for the named reason (counted per process in
    ``HeartbeatFastPath.deferrals``: the bench reports them, tests assert them)."""


NOT_SIGNED_IN = Defer("not_signed_in")        # no cookie, a bad or expired one, no user in it
SESSION_PROTECTION = Defer("session_protection")  # another address or browser than at sign-in
NOT_AN_OBJECT = Defer("not_an_object")        # the body is not a JSON object (Flask: 400)
CSRF_UNVERIFIED = Defer("csrf_unverified")    # a token this process has not verified yet, or another session's
IDLE_CLOCK = Defer("idle_clock")              # no idle clock in the session, or one in the future
IDLE_SIGN_OUT = Defer("idle_sign_out")        # the learner is to be signed out (Flask: 401)
USER_REFUSED = Defer("user_refused")          # not a learner, disabled, or the session ended (Flask: 401)
NEEDS_SESSION = Defer("needs_session")        # the lesson's first heartbeat, a completion, a concurrent change
REFUSED = Defer("refused")                    # the service refused it (Flask answers with its message)
UNEXPECTED = Defer("unexpected")              # an error, logged once per cause


class HeartbeatFastPath:
    """WSGI middleware: answers accepted heartbeats itself and passes everything else to ``app``."""

    def __init__(self, wsgi_app, flask_app):
        self.wsgi_app = wsgi_app
        self.app = flask_app
        self.cookie_name = flask_app.config["SESSION_COOKIE_NAME"]
        self._identifiers: dict[tuple, str] = {}
        # SQLite has one writer at a time and makes the others poll for the lock with growing
        # sleeps (1, 2, 5, 10 … 100 ms), which is where the slowest heartbeats waited. Heartbeat
        # writers queue instead: the threads of a worker on a mutex, the workers on an flock of a
        # file beside the database, which the kernel hands over the moment it is released.
        self.write_lock = _WriterLock()
        self.pg_pool = None  # PostgreSQL: the fast path's own connections, opened on first use
        # PostgreSQL: per (learner, lesson), the user columns and the progress row this process
        # wrote last, so the learner's next heartbeat here needs one statement (PgFastStore). A
        # browser keeps its connection, so its heartbeats mostly come back to the same process.
        self.remembered: dict[tuple[int, int], tuple] = {}
        self.sqlite = _SqliteConnections()
        self.headers = [("Content-Type", "application/json"), *security.HEADERS, ("Vary", "Cookie")]
        self.deferrals: collections.Counter = collections.Counter()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self.wsgi_app(environ, start_response)
        if not 0 < length <= 64 * 1024:
            return self.wsgi_app(environ, start_response)
        body = environ["wsgi.input"].read(length)
        answer = self.answer(environ, body)
        if answer is UNAVAILABLE:  # the database is away: 503 + Retry-After, the player keeps its queue
            from lms.errors import database_away_response

            with self.app.request_context(environ):
                response = database_away_response()
            return response(environ, start_response)
        if isinstance(answer, Defer):  # Flask reads the same bytes
            self.deferrals[answer] += 1
            environ["wsgi.input"] = io.BytesIO(body)
            return self.wsgi_app(environ, start_response)
        payload, cookies = answer
        start_response("200 OK", [*self.headers, ("Content-Length", str(len(payload))),
                                  *(("Set-Cookie", c) for c in cookies)])
        return [payload]

    def answer(self, environ, body: bytes):
        """The verdict on a heartbeat: the answer (body, Set-Cookie headers), ``UNAVAILABLE``, or
        a ``Defer`` naming why Flask answers it. In an application context throughout: reading the cookie needs the
        app's JSON provider, as Flask's own session loading does."""
        with self.app.app_context():
            return self._answer(environ, body)

    def _answer(self, environ, body: bytes):
        from lms.extensions import db
        from lms.learning import services, views
        from lms.sessions import idle_clock_due, idle_sign_out_due

        app = self.app
        cookie = _cookie(environ.get("HTTP_COOKIE", ""), self.cookie_name)
        data = app.session_interface.load(app, cookie) if cookie else None
        if not data or "_user_id" not in data:
            return NOT_SIGNED_IN
        if data.get("_id") != self.identifier(environ):
            return SESSION_PROTECTION
        try:
            heartbeat = inputs.loads(body)  # the app's strict JSON (lms.inputs), as Flask parses it
        except ValueError:
            return NOT_AN_OBJECT
        if not isinstance(heartbeat, dict):
            return NOT_AN_OBJECT
        # sendBeacon cannot set headers: its body carries the token.
        token = environ.get("HTTP_X_CSRFTOKEN") or heartbeat.get("csrf_token")
        if not views.csrf_token_known(token, data.get("csrf_token")):
            return CSRF_UNVERIFIED
        now = time.time()
        last_seen = data.get("last_seen")
        if last_seen is None or not 0 <= now - last_seen:
            return IDLE_CLOCK
        try:
            if idle_sign_out_due(last_seen, now):
                return IDLE_SIGN_OUT
            if db.engine.dialect.name == "sqlite":
                result = self.record_on_driver(db, data, heartbeat, now)
            else:
                result = self.record_on_postgres(db, data, heartbeat, now)
        except Exception as exc:
            from lms.db import database_unavailable, rollback_quietly

            rollback_quietly(db.session)
            if database_unavailable(exc):
                return UNAVAILABLE
            if isinstance(exc, services.NeedsSession):
                return NEEDS_SESSION
            if isinstance(exc, services.ProgressError):
                return REFUSED  # expected: Flask answers it with its message
            _log_once(exc)
            return UNEXPECTED
        if isinstance(result, Defer):
            return result
        cookies = []
        if idle_clock_due(last_seen, now):  # move the idle clock as lms.sessions does
            cookies = app.session_interface.rewrite(app, {**data, "last_seen": now},
                                                    secure=environ.get("wsgi.url_scheme") == "https")
        return (json.dumps(result.as_json(), separators=(",", ":"), sort_keys=True) + "\n").encode(), cookies

    def record_on_driver(self, db, data: dict, heartbeat: dict, now: float):
        """SQLite: on this thread's own driver connection (``_SqliteConnections``), committed here
        (the ORM session's bookkeeping was a third of this path's time). One statement reads the
        signed-in user (judged by ``_learner_session``, as on PostgreSQL), whether the lesson is
        open to them and the progress row, before the writers' lock; the insert and the update are
        made under it. A heartbeat that needs the session (the lesson's first, a completion) goes
        to Flask."""
        from lms.learning import access, services
        from lms.learning.store import SqliteFastStore, UserRefused
        from lms.sessions import SessionUser

        user_id = int(data["_user_id"])

        def check_user(row) -> bool:
            return _learner_session(SessionUser.from_row(user_id, row), data, now)

        lesson_id = services.parse_heartbeat(heartbeat)[0]
        with self.sqlite.connection(db.engine) as driver:
            store = SqliteFastStore(driver, user_id, SessionUser.SQL, access.sqlite_sql(), check_user)
            try:
                store.lesson_open(user_id, lesson_id)  # the read, outside the lock
                with self.write_lock.held(db.engine.url.database):
                    result = services.record_heartbeat(user_id, heartbeat, store=store)
                    driver.commit()
            except BaseException as exc:
                driver.rollback()
                if isinstance(exc, UserRefused):
                    return USER_REFUSED
                raise
            return result

    def record_on_postgres(self, db, data: dict, heartbeat: dict, now: float):
        """PostgreSQL: two statements on a connection of the fast path's own pool, no transaction
        block (lms.learning.store.PgFastStore). The first reads the signed-in user
        (``SessionUser.SQL``: the account active, its role and session generation, judged by
        ``_learner_session`` as on SQLite), whether the lesson is open to them
        (lms.learning.access) and the progress row, so a disabled account, an ended session or an
        unpublished course is refused from its next heartbeat on; the second writes. Anything the
        ORM must do (the lesson's first heartbeat, a completion, a row another tab changed
        meanwhile) goes to Flask, with nothing written here."""
        from lms.learning import access, services
        from lms.learning.store import FastPool, PgFastStore, Stale, UserRefused
        from lms.sessions import SessionUser

        user_id = int(data["_user_id"])

        def check_user(row) -> bool:
            return _learner_session(SessionUser.from_row(user_id, row), data, now)

        lesson_id, _, _, client_id, seq = services.parse_heartbeat(heartbeat)  # the key is bound before the service parses
        if self.pg_pool is None:
            self.pg_pool = FastPool(db.engine)
        learner = (user_id, lesson_id)
        with self.pg_pool.connection() as connection:
            store = PgFastStore(connection, user_id, SessionUser.SQL, access.postgres_sql(), check_user,
                                (client_id, seq), SessionUser.COLUMNS, self.remembered.pop(learner, None))
            try:
                try:
                    result = services.record_heartbeat(user_id, heartbeat, store=store)
                except Stale:  # the remembered row was not current: again, from the row just read
                    result = services.record_heartbeat(user_id, heartbeat, store=store)
            except UserRefused:
                return USER_REFUSED
            remembered = store.remember()
            if remembered is not None:
                bounded.put(self.remembered, learner, remembered, 32768)
            return result

    def identifier(self, environ) -> str:
        """The session-protection identifier Flask-Login compares (lms.sessions.session_identifier)."""
        from lms.sessions import session_identifier

        key = (environ.get("REMOTE_ADDR"), environ.get("HTTP_USER_AGENT"))
        ident = self._identifiers.get(key)
        if ident is None:
            ident = session_identifier(*key)
            bounded.put(self._identifiers, key, ident, 32768)
        return ident


def _log_once(exc: BaseException) -> None:
    cause = (type(exc).__qualname__, str(exc)[:200])
    if cause not in _logged_causes:
        _logged_causes.add(cause)
        log.error("heartbeat fast path deferred to Flask after an unexpected error", exc_info=exc)


def _learner_session(user, data: dict, now: float) -> bool:
    """A learner's session that still stands, by the Flask path's own check (lms.sessions)."""
    from lms.sessions import session_current

    return user is not None and user.role.value == "learner" and session_current(data, user.session_generation, now)


def _detached_driver(engine):
    """A driver (sqlite3) connection taken from the engine's pool, with the pool's connect-time
    settings (WAL, foreign keys, busy timeout), and detached from it: ours now, for the life of the
    thread; the pool opens another for itself when it needs one."""
    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    pooled.detach()
    return driver


class _SqliteConnections(threading.local):
    """SQLite: one driver connection per server thread, taken from the engine's pool once (with
    the pool's connect-time settings: WAL, foreign keys, busy timeout) and detached from it, so a
    heartbeat pays neither the pool's check-out nor its reset on return, and the pool keeps its
    connections for Flask. A forked child opens its own. Pools that hand out one shared
    connection (an in-memory database) are used as they are."""

    def __init__(self):
        self.driver, self.pid = None, None

    @contextlib.contextmanager
    def connection(self, engine):
        from sqlalchemy.pool import SingletonThreadPool, StaticPool

        from lms.learning.store import current_pid

        if isinstance(engine.pool, (StaticPool, SingletonThreadPool)):
            pooled = engine.raw_connection()
            try:
                yield pooled.driver_connection
            finally:
                pooled.close()
            return
        if self.driver is None or self.pid != current_pid():
            self.driver, self.pid = _detached_driver(engine), current_pid()
            # A heartbeat's commit never runs a checkpoint (at 1,000/s one came every few tenths
            # of a second and its fsync held the writers' lock for up to 0.6 s): the
            # checkpointer thread does it beside the writers instead.
            self.driver.execute("PRAGMA wal_autocheckpoint=0")
            _checkpointer.ensure(engine)
        yield self.driver


class _Checkpointer:
    """One thread per process and SQLite file that copies the write-ahead log into the database
    every second (``PRAGMA wal_checkpoint(PASSIVE)``: it waits for no reader or writer, and its
    fsync happens outside the heartbeat writers' lock), for the heartbeat connections, whose
    commits no longer do it themselves. Other connections keep SQLite's automatic checkpoints."""

    INTERVAL = 1.0

    def __init__(self):
        self.lock = threading.Lock()
        self.running: dict[tuple[int, str], threading.Thread] = {}
        self.logged: set[tuple[str, str]] = set()

    def ensure(self, engine) -> None:
        from lms.learning.store import current_pid

        key = (current_pid(), engine.url.database)
        with self.lock:
            if key in self.running:
                return
            thread = threading.Thread(target=self._run, args=(_detached_driver(engine),), name="sqlite-checkpoint",
                                      daemon=True)
            self.running[key] = thread
            thread.start()

    def _run(self, driver) -> None:
        pause = threading.Event()  # never set: a sleep that no test's fake clock replaces
        while not pause.wait(self.INTERVAL):
            try:
                driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except Exception as exc:  # a busy or vanished database: try again next time
                cause = (type(exc).__qualname__, str(exc)[:200])
                if cause not in self.logged:
                    self.logged.add(cause)
                    logging.getLogger(__name__ + ".checkpoint").warning("WAL checkpoint failed: %r", exc)


_checkpointer = _Checkpointer()


class _WriterLock:
    """One heartbeat writer at a time across the threads and the processes of this server."""

    def __init__(self):
        self.mutex = threading.Lock()
        self.files: dict[str, int] = {}

    @contextlib.contextmanager
    def held(self, database: str | None):
        with self.mutex:
            fd = self._file(database)
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # waits without holding the GIL
            try:
                yield
            finally:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def _file(self, database: str | None) -> int | None:
        if not database or database == ":memory:" or database.startswith("file:"):
            return None  # a private database has no other process to queue behind
        fd = self.files.get(database)
        if fd is None:
            fd = self.files[database] = os.open(database + "-heartbeat-lock", os.O_RDWR | os.O_CREAT, 0o600)
        return fd


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value if value and value[0] != '"' else None
    return None


def install(app) -> None:
    app.wsgi_app = HeartbeatFastPath(app.wsgi_app, app)
