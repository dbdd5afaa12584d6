"""The declarative base, naming convention and column types every model uses."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Stable constraint names on SQLite and PostgreSQL, so migrations can drop them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store UTC-aware datetimes")
        return value.astimezone(timezone.utc).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL lets the worker write while web processes read; foreign keys are off by default in SQLite."""
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def writing_from_here(session) -> None:
    """On SQLite, take the database's write lock now, before this transaction reads what it will
    write from (``BEGIN IMMEDIATE``: another writer waits here, within the busy timeout). Without
    it a transaction that read first cannot start writing once another one has committed meanwhile
    (SQLite refuses at once: its snapshot is stale), where PostgreSQL re-checks its constraints.
    Nothing to do on other databases, or when this transaction has begun already."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver = connection.connection.driver_connection
    if not driver.in_transaction:
        driver.execute("BEGIN IMMEDIATE")


# Seconds a client is told to wait before trying again while the database is away: a
# PostgreSQL restart takes a few seconds, and a player retries its queue after this.
RETRY_AFTER = 10


def database_unavailable(exc: BaseException) -> bool:
    """Is ``exc`` the database being away or overloaded (answer 503 and retry later), rather than a
    bug? Connection refused or lost, a restart (stale pooled connection), an exhausted pool, a
    statement cancelled by the server, SQLite's lock wait running out."""
    import sqlite3

    import psycopg
    from sqlalchemy import exc as sa

    if isinstance(exc, (sa.OperationalError, sa.TimeoutError, sa.DisconnectionError)):
        return True
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return True
    # Paths that talk to the driver directly (the heartbeat fast path) see the driver's own errors.
    return isinstance(exc, (psycopg.OperationalError, sqlite3.OperationalError))


def rollback_quietly(scoped) -> None:
    """Roll the session back; if its connection died mid-request even that fails: drop it instead."""
    try:
        scoped.rollback()
    except Exception:
        scoped().invalidate()
