"""The heartbeat's SQL: read a progress row, insert-or-ignore the heartbeat, update the row.

A heartbeat is a few small statements, 1,000 times a second on two worker processes, so the
statements are written once. Three stores run them:

- ``SqliteStore``: straight on the SQLite driver's connection (no statement building, compiling or
  result processing: about half a heartbeat's database time), inside a transaction the caller
  commits (the fast path, under its writer lock, or the request teardown); ``SqliteFastStore``,
  for the fast path, reads the signed-in user, the lesson's access rule and the progress row in
  one statement, as ``PgFastStore`` does;
- ``CoreStore``: any other database through the request's SQLAlchemy connection and transaction
  (the Flask view on PostgreSQL);
- ``PgFastStore``: PostgreSQL for the heartbeat fast path, two round trips and no transaction
  of its own. One statement reads the signed-in user (``lms.sessions.SessionUser.SQL``, the same
  check the Flask path makes), the progress row and whether this heartbeat was stored already;
  one statement writes: the conditional update of the progress row and the heartbeat's insert,
  committed together (autocommit: a single statement is its own transaction, so there is no
  BEGIN or COMMIT round trip, and ``synchronous_commit`` stays at its durable default). Both
  statements are prepared on the connection's first use. The connections are the fast path's
  own (``FastPool``), not the ORM's pool: no pre-ping per heartbeat, no reset on return.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import NamedTuple

import functools
import os
import re
import threading
import weakref
from contextlib import contextmanager

from sqlalchemy import bindparam, text

from lms.learning.models import Heartbeat, Progress

COLUMNS = ("id", "intervals", "watched_seconds", "coverage", "position", "opened_at", "completed_at",
           "updated_at", "paid_until", "last_heartbeat_at", "last_client_id", "last_seq")
_READ = f"SELECT {', '.join(COLUMNS)} FROM progress WHERE user_id = :user_id AND lesson_id = :lesson_id"
# The (user, client_id, seq) key makes a retried heartbeat a no-op; RETURNING says which it was.
_INSERT = ("INSERT INTO heartbeats (user_id, client_id, seq, lesson_id, claimed_seconds, received_at) "
           "VALUES (:user_id, :client_id, :seq, :lesson_id, :claimed_seconds, :received_at) "
           "ON CONFLICT (user_id, client_id, seq) DO NOTHING RETURNING id")
_SET = ("intervals = :intervals, watched_seconds = :watched_seconds, coverage = :coverage, position = :position, "
        "paid_until = :paid_until, last_heartbeat_at = :last_heartbeat_at, last_client_id = :last_client_id, "
        "last_seq = :last_seq, updated_at = :updated_at")
_UPDATE = f"UPDATE progress SET {_SET} WHERE id = :id"
# Optimistic: changes the row only if nobody changed it since it was read (``version``).
_UPDATE_IF = _UPDATE + " AND updated_at = :version"


class ProgressRow(NamedTuple):
    id: int
    intervals: list
    watched_seconds: float
    coverage: float
    position: float
    opened_at: datetime | None
    completed_at: datetime | None
    updated_at: object  # the stored value as read: compared, never interpreted
    paid_until: float | None
    last_heartbeat_at: float | None
    last_client_id: str | None
    last_seq: int | None
    # Whether this heartbeat (user, client_id, seq) is stored already: PgFastStore reads it with
    # the row; the other stores learn it from their insert.
    seen: bool = False


def store_for(connection) -> SqliteStore | CoreStore:
    if connection.dialect.name == "sqlite":
        return SqliteStore(connection.connection.driver_connection)
    global _CORE
    if _CORE is None:
        _CORE = _CoreStatements()
    return CoreStore(connection, _CORE)


def _sqlite_time(value: str | None) -> datetime | None:
    # SQLAlchemy stores SQLite datetimes as naive UTC text "YYYY-MM-DD HH:MM:SS.ffffff".
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


def _sqlite_progress(r) -> ProgressRow | None:
    """A progress row from the driver's columns (``COLUMNS``); None for a LEFT JOIN's missing row."""
    if r[0] is None:
        return None
    return ProgressRow(r[0], json.loads(r[1]) if r[1] else [], r[2], r[3], r[4], _sqlite_time(r[5]),
                       _sqlite_time(r[6]), r[7], r[8], r[9], r[10], r[11])


def sqlite_time_text(value: datetime) -> str:
    """"YYYY-MM-DD HH:MM:SS.ffffff" in UTC, as SQLAlchemy stores it (isoformat: a third of strftime's cost)."""
    if value.tzinfo is not timezone.utc:
        value = value.astimezone(timezone.utc)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


class SqliteStore:
    def __init__(self, dbapi):
        self.dbapi = dbapi

    def read(self, user_id: int, lesson_id: int, lock: bool = False) -> ProgressRow | None:
        # No FOR UPDATE in SQLite: after the insert this connection holds the write lock.
        r = self.dbapi.execute(_READ, {"user_id": user_id, "lesson_id": lesson_id}).fetchone()
        return None if r is None else _sqlite_progress(r)

    def insert_heartbeat(self, values: dict) -> bool:
        values = {**values, "received_at": sqlite_time_text(values["received_at"])}
        return self.dbapi.execute(_INSERT, values).fetchone() is not None

    def update(self, values: dict, version=None) -> int:
        values = {**values, "intervals": json.dumps(values["intervals"]),
                  "updated_at": sqlite_time_text(values["updated_at"])}
        if version is None:
            return self.dbapi.execute(_UPDATE, values).rowcount
        return self.dbapi.execute(_UPDATE_IF, {**values, "version": version}).rowcount


class _CoreStatements:
    def __init__(self):
        p, h = Progress.__table__, Heartbeat.__table__
        self.read = text(_READ).columns(*(p.c[c] for c in COLUMNS))
        self.read_locked = text(_READ + " FOR UPDATE").columns(*(p.c[c] for c in COLUMNS))
        self.insert = text(_INSERT).bindparams(bindparam("received_at", type_=h.c.received_at.type))
        types = (bindparam("intervals", type_=p.c.intervals.type), bindparam("updated_at", type_=p.c.updated_at.type))
        self.update = text(_UPDATE).bindparams(*types)
        self.update_if = text(_UPDATE_IF).bindparams(*types, bindparam("version", type_=p.c.updated_at.type))


_CORE: _CoreStatements | None = None


class CoreStore:
    def __init__(self, connection, statements: _CoreStatements):
        self.connection, self.sql = connection, statements

    def read(self, user_id: int, lesson_id: int, lock: bool = False) -> ProgressRow | None:
        stmt = self.sql.read_locked if lock else self.sql.read
        r = self.connection.execute(stmt, {"user_id": user_id, "lesson_id": lesson_id}).first()
        return None if r is None else ProgressRow(*r)

    def insert_heartbeat(self, values: dict) -> bool:
        return self.connection.execute(self.sql.insert, values).first() is not None

    def update(self, values: dict, version=None) -> int:
        if version is None:
            return self.connection.execute(self.sql.update, values).rowcount
        return self.connection.execute(self.sql.update_if, {**values, "version": version}).rowcount


class UserRefused(Exception):
    """The signed-in user's row is missing or fails the session check: the fast path hands the
    heartbeat to Flask, which refuses it with its message."""


class _CheckedRead:
    """The fast stores' read: one statement returns the signed-in user's columns (the sessions
    module's user query, judged by ``check_user(columns)``), whether the lesson is open to them
    (lms.learning.access) and the progress row, kept for the rest of the heartbeat."""

    _read: tuple | None = None

    def _fetch(self, lesson_id: int) -> tuple:
        if self._read is None or self._read[0] != lesson_id:
            self._judge(lesson_id, self._execute_read(lesson_id))
        return self._read

    def _judge(self, lesson_id: int, r) -> None:
        """Keep the read's columns (user, access, progress row) once the user passes the check."""
        user_columns = len(r) - len(COLUMNS) - 1 - self._trailing if r is not None else 0
        if r is None or not self.check_user(r[:user_columns]):
            raise UserRefused
        self.user_columns = tuple(r[:user_columns])
        self._read = (lesson_id, bool(r[user_columns]), self._progress(r[user_columns + 1:]))

    def lesson_open(self, user_id: int, lesson_id: int) -> bool:
        assert user_id == self.user_id
        return self._fetch(lesson_id)[1]


# SQLite, fast path: the user's row (SessionUser.SQL as a CTE, its columns and conditions the
# sessions module's), the access rule, then the progress row.
_SQLITE_PROGRESS = ", ".join(f"p.{c}" for c in COLUMNS)


@functools.lru_cache(maxsize=4)
def _sqlite_read(user_sql: str, access_sql: str) -> str:
    return (f"WITH u AS ({user_sql}) SELECT u.*, EXISTS ({access_sql}), {_SQLITE_PROGRESS} "
            "FROM u LEFT JOIN progress p ON p.user_id = :id AND p.lesson_id = :lesson_id")


class SqliteFastStore(_CheckedRead, SqliteStore):
    """``SqliteStore`` whose first read also checks the user and the lesson's access rule
    (``_CheckedRead``); the fast path runs it before taking the writers' lock, so the lock is held
    for the writes alone. A read under the lock (``lock=True``, after a concurrent change) reads
    the progress row afresh."""

    _trailing = 0

    def __init__(self, dbapi, user_id: int, user_sql: str, access_sql: str, check_user):
        super().__init__(dbapi)
        self.user_id, self.check_user = user_id, check_user
        self.read_sql = _sqlite_read(user_sql, access_sql)

    def _execute_read(self, lesson_id: int):
        return self.dbapi.execute(self.read_sql, {"id": self.user_id, "user_id": self.user_id,
                                                  "lesson_id": lesson_id}).fetchone()

    def _progress(self, columns):
        return _sqlite_progress(columns)

    def read(self, user_id: int, lesson_id: int, lock: bool = False) -> ProgressRow | None:
        assert user_id == self.user_id
        if lock:
            return super().read(user_id, lesson_id, lock=True)
        return self._fetch(lesson_id)[2]


# PostgreSQL, fast path. The user's row comes first (SessionUser.SQL as a CTE, so its columns and
# conditions stay the sessions module's), then the progress row and the idempotency key's presence.
_PG_PROGRESS = ", ".join(f"p.{c}" for c in COLUMNS)
_PG_UPDATE = ("UPDATE progress SET intervals = %(intervals)s::json, watched_seconds = %(watched_seconds)s, "
              "coverage = %(coverage)s, position = %(position)s, paid_until = %(paid_until)s, "
              "last_heartbeat_at = %(last_heartbeat_at)s, last_client_id = %(last_client_id)s, last_seq = %(last_seq)s, "
              "updated_at = %(updated_at)s WHERE id = %(progress_id)s AND updated_at = %(version)s")
# No ON CONFLICT: a heartbeat stored meanwhile makes the whole statement fail, update included.
_PG_INSERT = ("INSERT INTO heartbeats (user_id, client_id, seq, lesson_id, claimed_seconds, received_at) "
              "SELECT %(user_id)s, %(client_id)s, %(seq)s, %(lesson_id)s, %(claimed_seconds)s, %(received_at)s "
              "FROM changed RETURNING id")
_PG_WRITE = f"WITH changed AS ({_PG_UPDATE} RETURNING id) {_PG_INSERT}"


def _pg_params(sql: str) -> str:
    """SQLAlchemy-style ``:name`` parameters as psycopg's ``%(name)s``."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql.replace("%", "%%"))


_PG_READ_TAIL = ("EXISTS (SELECT 1 FROM heartbeats WHERE user_id = %(id)s AND client_id = %(client_id)s AND seq = %(seq)s) "
                 "FROM u LEFT JOIN progress p ON p.user_id = %(id)s AND p.lesson_id = %(lesson_id)s")


@functools.lru_cache(maxsize=4)
def _pg_read(user_sql: str, access_sql: str) -> str:
    return f"WITH u AS ({_pg_params(user_sql)}) SELECT u.*, EXISTS ({access_sql}), {_PG_PROGRESS}, {_PG_READ_TAIL}"


@functools.lru_cache(maxsize=4)
def _pg_write_remembered(user_columns: tuple[str, ...], user_sql: str, access_sql: str) -> str:
    """The write computed from a remembered row, and the read, in one statement (``PgFastStore``).

    The database writes only if, at that moment, the progress row is still the one remembered
    (its version, completion and opening), the user's columns are still those the session check
    accepted (not disabled, same role and session generation) and the lesson is still open to
    them (the access rule's own statement). Either way the statement returns what ``_pg_read``
    returns, from before its write, preceded by the number of heartbeats it stored (0 or 1)."""
    unchanged = " AND ".join(f"u.{c} IS NOT DISTINCT FROM %(was_{c})s" for c in user_columns)
    guarded = _PG_UPDATE + (" AND completed_at IS NOT DISTINCT FROM %(was_completed_at)s"
                            " AND opened_at IS NOT DISTINCT FROM %(was_opened_at)s"
                            f" AND EXISTS (SELECT 1 FROM u WHERE {unchanged}) AND EXISTS ({access_sql})")
    return (f"WITH u AS ({_pg_params(user_sql)}), changed AS ({guarded} RETURNING id), stored AS ({_PG_INSERT}) "
            f"SELECT (SELECT count(*) FROM stored), u.*, EXISTS ({access_sql}), {_PG_PROGRESS}, {_PG_READ_TAIL}")


class Stale(Exception):
    """The remembered row or user was no longer current (``PgFastStore.write``): nothing was
    written, the store now holds what the database returned instead, and the heartbeat is to be
    computed again from it."""


class PgFastStore(_CheckedRead):
    """One heartbeat on a connection of ``FastPool`` (autocommit); see the module docstring.

    The read statement carries three checks besides the progress row (``_CheckedRead``: the user,
    the lesson's access rule) and whether this heartbeat's key is stored. ``read`` raises
    ``UserRefused`` when the user fails. ``atomic``: ``write`` changes everything or nothing, so
    the service decides about completion before writing.

    ``remembered`` (lesson id, user columns, row): what this process read and wrote for the
    learner's previous heartbeat. When the session check still accepts those user columns, the
    heartbeat is computed from that row without a read, and the write checks in the database that
    nothing changed since (``_pg_write_remembered``): one round trip. When something did, the
    write raises ``Stale`` with the current columns kept, and the caller runs the heartbeat again
    (two round trips, as without a remembered row). After a write, ``remember()`` is what to keep.
    """

    atomic = True
    _trailing = 1  # the key's presence, after the progress columns

    def __init__(self, connection, user_id: int, user_sql: str, access_sql: str, check_user, key: tuple[str, int],
                 user_column_names: tuple[str, ...] = (), remembered: tuple | None = None):
        self.connection, self.user_id, self.check_user, self.key = connection, user_id, check_user, key
        self.user_sql, self.access_sql, self.user_column_names = user_sql, access_sql, user_column_names
        self.read_sql = _pg_read(user_sql, access_sql)
        self.remembering = False
        self.written: ProgressRow | None = None
        if remembered is not None and user_column_names:
            lesson_id, user_columns, row = remembered
            if check_user(user_columns):  # the session check, on the columns as last read
                self.user_columns, self.remembering = user_columns, True
                self._read = (lesson_id, True, row)  # the lesson's access: checked by the write

    def remember(self) -> tuple | None:
        """(lesson id, user columns, row as written) after a write, for the learner's next heartbeat."""
        return None if self.written is None else (self._read[0], self.user_columns, self.written)

    def _execute_read(self, lesson_id: int):
        return self.connection.execute(self.read_sql, {"id": self.user_id, "user_id": self.user_id,
                                                       "lesson_id": lesson_id, "client_id": self.key[0],
                                                       "seq": self.key[1]}, prepare=True).fetchone()

    def _progress(self, columns):
        return None if columns[0] is None else ProgressRow(*columns[:-1], seen=columns[-1])

    def read(self, user_id: int, lesson_id: int, lock: bool = False) -> ProgressRow | None:
        """The row as the statement read it with the checks (one round trip for both)."""
        assert user_id == self.user_id and not lock
        return self._fetch(lesson_id)[2]

    def write(self, heartbeat: dict, values: dict, version) -> bool | None:
        """True: stored. False: this heartbeat was stored meanwhile (a retry racing its original;
        nothing written). None: the row changed since it was read (nothing written)."""
        from psycopg.errors import UniqueViolation

        params = {**heartbeat, **values, "progress_id": values["id"], "intervals": json.dumps(values["intervals"]),
                  "version": version}
        lesson_id, _, row = self._read
        if not self.remembering:
            try:
                stored = self.connection.execute(_PG_WRITE, params, prepare=True).fetchone()
            except UniqueViolation:
                return False
            if stored is None:
                return None
        else:
            self.remembering = False
            params.update({f"was_{c}": v for c, v in zip(self.user_column_names, self.user_columns)},
                          id=self.user_id, was_completed_at=row.completed_at, was_opened_at=row.opened_at)
            sql = _pg_write_remembered(self.user_column_names, self.user_sql, self.access_sql)
            try:
                r = self.connection.execute(sql, params, prepare=True).fetchone()
            except UniqueViolation:  # a retry of a stored heartbeat: judged on a fresh read
                self._read = None
                raise Stale from None
            if r is None or not r[0]:
                self._judge(lesson_id, r and r[1:])  # UserRefused when the account went
                raise Stale
        self.written = ProgressRow(values["id"], values["intervals"], values["watched_seconds"], values["coverage"],
                                   values["position"], row.opened_at, row.completed_at, values["updated_at"],
                                   values["paid_until"], values["last_heartbeat_at"], values["last_client_id"],
                                   values["last_seq"])
        return True


# This process's id, kept current across forks without a system call per heartbeat.
_PROCESS = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _PROCESS.__setitem__(0, os.getpid()))


def current_pid() -> int:
    return _PROCESS[0]


class StaleConnection(Exception):
    """A pooled connection failed (the server restarted since it was opened): not a sign that the
    database is away now. The fast path hands the heartbeat to Flask, whose pool pings first; a
    write that reached the server before the connection broke is then found stored (a duplicate)."""


class FastPool:
    """The heartbeat fast path's PostgreSQL connections in one process: autocommit, at most
    ``size`` kept idle (one per server thread is enough), opened on demand with the engine's own
    connect arguments. A connection that failed (the server restarted, the network dropped) is
    closed rather than returned, with the idle ones, so the next heartbeat opens a fresh one: a
    pooled connection's failure raises ``StaleConnection``, a fresh one's the driver's error (the
    database is away: 503)."""

    def __init__(self, engine, size: int = 8):
        self.engine, self.size = engine, size
        self._idle: list = []
        self._lock = threading.Lock()
        self._pid = current_pid()
        # An app dropped (tests build many) closes its idle connections with it.
        weakref.finalize(self, _close_all, self._idle)

    def _connect(self):
        import psycopg

        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        return psycopg.connect(*cargs, **cparams, autocommit=True)

    @contextmanager
    def connection(self):
        import psycopg

        with self._lock:
            if self._pid != current_pid():
                # Forked: the parent's sockets are not ours to use or close; keep them untouched.
                self._inherited, self._idle, self._pid = self._idle, [], current_pid()
                weakref.finalize(self, _close_all, self._idle)
            conn = self._idle.pop() if self._idle else None
        reused = conn is not None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            conn.close()
            if reused:  # most likely the server restarted: its other connections are gone too
                self.close()
                raise StaleConnection from exc
            raise
        finally:
            self._put(conn)

    def _put(self, conn) -> None:
        import psycopg

        if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.close()
            return
        with self._lock:
            if len(self._idle) < self.size:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            _close_all(self._idle)


def _close_all(connections: list) -> None:
    while connections:
        connections.pop().close()
