"""The heartbeat's SQL: read a progress row, insert-or-ignore the heartbeat, update the row.

A heartbeat is a few small statements, 1,000 times a second on two SQLite worker processes, so
the statements are written once. On SQLite they run straight on the driver's connection (no
statement building, compiling or result processing: about half a heartbeat's database time); on
other databases they run as prepared SQLAlchemy text statements with the columns' types. Both
run inside the request's transaction, which the request teardown commits.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import NamedTuple

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


def sqlite_time_text(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


class SqliteStore:
    def __init__(self, dbapi):
        self.dbapi = dbapi

    def read(self, user_id: int, lesson_id: int, lock: bool = False) -> ProgressRow | None:
        # No FOR UPDATE in SQLite: after the insert this connection holds the write lock.
        r = self.dbapi.execute(_READ, {"user_id": user_id, "lesson_id": lesson_id}).fetchone()
        if r is None:
            return None
        return ProgressRow(r[0], json.loads(r[1]) if r[1] else [], r[2], r[3], r[4], _sqlite_time(r[5]),
                           _sqlite_time(r[6]), r[7], r[8], r[9], r[10], r[11])

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
