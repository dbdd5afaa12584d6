"""The job queue: huey (SqliteHuey in ``instance/`` by default, RedisHuey for ``LMS_QUEUE_URL=redis://``)
behind a transactional outbox.

Why an outbox: a request that changes something and needs a job (a finished upload needs its
transcode, a publish needs the search index, a confirmed household import needs its run) must not
talk to Redis. If it did, Redis being down would turn a committed change into a 500, and the job
would be lost. So:

1. ``enqueue(task, *args)`` only adds a ``job_outbox`` row to the current transaction. The job
   exists exactly when the change that needs it commits; a rollback leaves neither.
2. The worker's relay (``flask worker`` runs ``relay_forever`` in a thread; several workers may
   race) claims due rows — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional UPDATE on
   SQLite (whose single writer serialises relays) — hands each to huey with the message id
   ``outbox-<row id>`` and marks it dispatched in the same transaction, so a row is marked only
   once huey accepted it. If huey refuses (Redis down), the row stays pending and the relay backs
   off (at most 10 s) and tries again. Idle, the relay runs one cheap SELECT a second.
3. The job itself (``app_task``) marks its row started when it begins and deletes it in the
   job's own final transaction (its work and the row's end commit together); a final failure
   deletes it too (the failure is in ``task_failures``); a failure huey will retry puts it back to
   "dispatched now".
4. A message can still be lost after huey accepted it (Redis restarted without persistence, a
   consumer killed between taking a message and starting it). Every ``LOST_CHECK_EVERY`` seconds
   the relay looks at rows dispatched more than ``LOST_AFTER`` ago that never started: if huey
   holds no message with their id (neither queued nor scheduled), the row goes back to pending and
   is relayed again — a lost message costs at most about a minute. Rows started more than
   ``ABANDONED_AFTER`` ago (the worker died mid-job) are relayed again too; media's lease sweep
   stays the fast recovery for that different fault.

Every task is idempotent (it brings the world in line with what the database says: a transcode
claims a lease, an import runs only while "queued", indexing re-reads the course), so a
duplicate message is harmless; and a message whose row is already gone does nothing at all.

Tests set ``QUEUE_IMMEDIATE``: a committed outbox row is then dispatched right after the commit
(an after-commit hook; a rolled-back transaction dispatches nothing) and huey runs it at once.

``app_task`` wraps a job so it runs in an app context of its own, commits once at the end and
rolls back (and records the failure) when it raises; huey then retries it per the task's policy.
"""
from __future__ import annotations

import functools
import logging
import os
import time
import traceback
from datetime import datetime, timedelta
from pathlib import Path

from huey import RedisHuey, SqliteHuey
from sqlalchemy import JSON, Index, String, Text, and_, delete, event, func, insert, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from lms.config import REPO_ROOT
from lms.db import UTCDateTime, utcnow
from lms.extensions import db

log = logging.getLogger(__name__)

MESSAGE_PREFIX = "outbox-"
RELAY_BATCH = 100
# A message huey accepted but nobody started within 30 s, and that huey no longer holds, was lost;
# checked every 15 s, so a lost job waits at most ~50 s (the issue allows a minute).
LOST_AFTER = timedelta(seconds=30)
LOST_CHECK_EVERY = 15.0
# A job started this long ago and never finished: its worker died. Relayed again (idempotent).
ABANDONED_AFTER = timedelta(hours=6)
IDLE_POLL = 1.0
MAX_BACKOFF = 10.0
_PENDING = "outbox_pending"


def _build_huey():
    url = os.environ.get("LMS_QUEUE_URL", "")
    if url.startswith("redis://") or url.startswith("rediss://"):
        from redis import ConnectionPool

        # Timeouts: a relay holding claimed rows must not hang on a Redis host that vanished.
        pool = ConnectionPool.from_url(url, socket_connect_timeout=5, socket_timeout=30)
        return RedisHuey("xiangxue", connection_pool=pool)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
    else:
        instance = Path(os.environ.get("LMS_INSTANCE_PATH", REPO_ROOT / "instance"))
        path = instance / "queue.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("xiangxue", filename=str(path))


huey = _build_huey()
_app = None


class TaskFailure(db.Model):
    """A job attempt that raised; admins see these on the jobs page."""

    __tablename__ = "task_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    task: Mapped[str] = mapped_column(String(128))
    args: Mapped[list | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)


class JobOutbox(db.Model):
    """A job written in the transaction of the change that needs it; the relay hands it to huey."""

    __tablename__ = "job_outbox"
    __table_args__ = (Index("ix_job_outbox_due", "dispatched_at", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(String(128))
    args: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Hand-overs huey refused (Redis down); the last refusal is kept for the admin.
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


def init_app(app) -> None:
    global _app
    _app = app
    huey.immediate = bool(app.config.get("QUEUE_IMMEDIATE"))
    # Only tests read a job's return value; a worker storing them would grow Redis (or queue.db)
    # by one entry per job, forever.
    huey.results = huey.immediate


def task_name(task) -> str:
    """The registry name of a task (``media.tasks.transcode_job``); names are what the outbox stores."""
    if isinstance(task, str):
        return task
    return huey._registry.task_to_string(task.task_class)


def _task_class(name: str):
    return huey._registry.string_to_task(name)


# ---- writing: in the caller's transaction -------------------------------------------------------

def enqueue(task, *args, delay: float = 0) -> None:
    """Queue ``task(*args)`` for when the current transaction commits (nothing if it rolls back).

    ``task`` is the task function or its registry name (an area below the task's owner names it
    rather than importing upward). ``delay`` in seconds: the relay holds the row until then. The
    same job twice in one transaction is queued once.
    """
    name = task_name(task)
    _task_class(name)  # an unknown task fails here, loudly, not in the worker
    session = db.session()
    key = (name, repr(args))
    seen = session.info.setdefault("outbox_seen", {})
    # (still in the session: a row written inside a rolled-back savepoint left it)
    if not delay and key in seen and seen[key] in session:
        return
    row = JobOutbox(task=name, args=list(args), available_at=utcnow() + timedelta(seconds=delay))
    session.add(row)
    session.flush()
    seen[key] = row
    if not session.info.get("outbox_listening"):
        # Once per session (sessions live as long as their app context), not once per job.
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_rollback)
        session.info["outbox_listening"] = True
    session.info.setdefault(_PENDING, []).append(row.id)


def enqueue_now(task, *args) -> None:
    """Queue a job that no change of the caller's needs (a search rebuild asked for by a reader):
    written and committed on a connection of its own, so the caller's transaction is not touched."""
    name = task_name(task)
    _task_class(name)
    now = utcnow()
    with db.engine.begin() as connection:
        row_id = connection.execute(insert(JobOutbox).values(
            task=name, args=list(args), created_at=now, available_at=now, attempts=0)
            .returning(JobOutbox.id)).scalar_one()
    if huey.immediate:
        _dispatch_immediately([row_id])


def _after_commit(session) -> None:
    session.info.pop("outbox_seen", None)
    ids = session.info.pop(_PENDING, [])
    if ids and huey.immediate:
        _dispatch_immediately(ids)


def _after_rollback(session, previous_transaction) -> None:
    # A savepoint rolled back keeps the rows written before it (those inside it are simply not
    # found at dispatch); only the whole transaction rolled back drops them all.
    if previous_transaction.parent is None:
        session.info.pop("outbox_seen", None)
        session.info.pop(_PENDING, None)


def _dispatch_immediately(ids: list[int]) -> None:
    """QUEUE_IMMEDIATE: run the committed jobs now, each in its own app context (as a worker would)."""
    with _app.app_context():
        now = utcnow()
        rows = db.session.execute(select(JobOutbox.id, JobOutbox.task, JobOutbox.args).where(
            JobOutbox.id.in_(ids), JobOutbox.dispatched_at.is_(None), JobOutbox.available_at <= now)
            .order_by(JobOutbox.id)).all()
        db.session.rollback()
    for row in rows:
        huey.enqueue(_message(row))


def _message(row):
    return _task_class(row.task)(args=tuple(row.args), id=f"{MESSAGE_PREFIX}{row.id}")


def _outbox_id(message) -> int | None:
    if message is None or not str(message.id).startswith(MESSAGE_PREFIX):
        return None
    return int(str(message.id)[len(MESSAGE_PREFIX):])


def backlog(now: datetime | None = None) -> dict:
    """Jobs not yet handed to huey and due: how many, since when, and whether huey refused them
    (for the admins' jobs page and health checks). One query."""
    now = now or utcnow()
    waiting, oldest, refused = db.session.execute(
        select(func.count(JobOutbox.id), func.min(JobOutbox.available_at), func.max(JobOutbox.attempts))
        .where(JobOutbox.dispatched_at.is_(None), JobOutbox.available_at <= now)).one()
    return {"waiting": waiting, "oldest": oldest, "refused": bool(refused)}


# ---- relaying: in the worker ---------------------------------------------------------------------

def relay(limit: int = RELAY_BATCH) -> int:
    """Hand due outbox rows to huey; returns how many. Re-raises huey's error after un-claiming
    what it could not hand over (those rows stay pending). Safe with several relays at once."""
    now = utcnow()
    due = and_(JobOutbox.dispatched_at.is_(None), JobOutbox.available_at <= now)
    pick = select(JobOutbox.id).where(due).order_by(JobOutbox.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # A plain SELECT first: an idle relay must not take SQLite's write lock every second.
    ids = list(db.session.scalars(pick))
    if not ids:
        db.session.rollback()
        return 0
    claimed = sorted(db.session.execute(
        update(JobOutbox).where(JobOutbox.id.in_(ids), due).values(dispatched_at=now)
        .returning(JobOutbox.id, JobOutbox.task, JobOutbox.args),
        execution_options={"synchronize_session": False}).all())
    handled, sent, error = set(), 0, None
    for row in claimed:
        try:
            message = _message(row)
        except Exception as exc:  # a task this release does not know: set it aside for an hour
            log.error("outbox job %s: unknown task %s", row.id, row.task)
            _unclaim([row.id], now, exc, later=timedelta(hours=1))
            handled.add(row.id)
            continue
        try:
            huey.enqueue(message)
        except Exception as exc:
            error = exc
            break
        handled.add(row.id)
        sent += 1
    if error is not None:
        _unclaim([row.id for row in claimed if row.id not in handled], now, error)
    db.session.commit()
    if error is not None:
        raise error
    return sent


def _unclaim(ids: list[int], now: datetime, exc: BaseException, later: timedelta | None = None) -> None:
    values = {"dispatched_at": None, "attempts": JobOutbox.attempts + 1,
              "last_error": "".join(traceback.format_exception_only(type(exc), exc))[-2000:]}
    if later:
        values["available_at"] = now + later
    db.session.execute(update(JobOutbox).where(JobOutbox.id.in_(ids)).values(**values),
                       execution_options={"synchronize_session": False})


def _not_started(now: datetime):
    return and_(JobOutbox.dispatched_at < now - LOST_AFTER,
                or_(JobOutbox.started_at.is_(None), JobOutbox.started_at < now - ABANDONED_AFTER))


def requeue_lost(now: datetime | None = None) -> list[int]:
    """Put back to pending the dispatched rows whose message huey no longer holds (see above)."""
    now = now or utcnow()
    candidates = list(db.session.scalars(select(JobOutbox.id).where(_not_started(now))))
    if not candidates:
        db.session.rollback()
        return []
    # The schedule first: the consumer moves due retries from it to the queue, never back, so a
    # message moving meanwhile is seen in one or the other.
    held = {str(t.id) for t in huey.scheduled()}
    held |= {str(t.id) for t in huey.pending()}
    lost = [i for i in candidates if f"{MESSAGE_PREFIX}{i}" not in held]
    if lost:
        db.session.execute(update(JobOutbox).where(JobOutbox.id.in_(lost), _not_started(now))
                           .values(dispatched_at=None, started_at=None),
                           execution_options={"synchronize_session": False})
        log.warning("outbox: %s job message(s) lost by the queue, relaying again: %s", len(lost), lost)
    db.session.commit()
    return lost


def relay_forever(app, stop, idle: float = IDLE_POLL, sent_event=None) -> None:
    """The worker's relay loop (a thread): relay, look for lost messages now and then (in the same
    wake-up: idle, the worker looks at the database once a second), back off while huey refuses.
    ``sent_event`` (a threading.Event) is set after jobs were handed over: it wakes the worker's
    threads, which do not poll the queue (lms.worker.idle). Returns when ``stop`` is set."""
    wait, last_check, failing = idle, 0.0, False
    while not stop.is_set():
        sent = 0
        with app.app_context():
            try:
                sent = relay()
                if time.monotonic() - last_check >= LOST_CHECK_EVERY:
                    requeue_lost()
                    last_check = time.monotonic()
                if failing:
                    log.warning("outbox: the queue accepts jobs again")
                wait, failing = idle, False
            except Exception as exc:
                db.session.rollback()
                if not failing:
                    log.warning("outbox: the queue refuses jobs (%s); they wait in the database", exc)
                wait, failing = min(max(wait, idle) * 2, MAX_BACKOFF), True
            finally:
                db.session.remove()
        if sent and sent_event is not None:
            sent_event.set()
        if sent < RELAY_BATCH:
            stop.wait(wait)


# ---- running: the job's own transaction ---------------------------------------------------------

def _record_failure(name: str, args, exc: BaseException) -> None:
    try:
        db.session.add(TaskFailure(task=name, args=list(args), error="".join(
            traceback.format_exception_only(type(exc), exc))[-4000:]))
        db.session.commit()
    except Exception:  # the failure record must never hide the task's own error
        db.session.rollback()


def _start(outbox_id: int) -> bool:
    """Mark the row started; False when it is gone (a duplicate of a job that already ended)."""
    started = db.session.execute(update(JobOutbox).where(JobOutbox.id == outbox_id)
                                 .values(started_at=utcnow()),
                                 execution_options={"synchronize_session": False}).rowcount
    db.session.commit()
    return bool(started)


def _after_failure(outbox_id: int, retrying: bool) -> None:
    try:
        if retrying:  # huey holds the retry under the same message id
            db.session.execute(update(JobOutbox).where(JobOutbox.id == outbox_id)
                               .values(started_at=None, dispatched_at=utcnow()),
                               execution_options={"synchronize_session": False})
        else:
            db.session.execute(delete(JobOutbox).where(JobOutbox.id == outbox_id))
        db.session.commit()
    except Exception:
        db.session.rollback()


def _in_app_transaction(fn, *, outbox: bool = False):
    name = f"{fn.__module__}.{fn.__name__}"

    @functools.wraps(fn)
    def run(*args, **kwargs):
        message = kwargs.pop("task", None) if outbox else None
        if _app is None:
            raise RuntimeError("lms.queue.init_app was not called: create the app first")
        outbox_id = _outbox_id(message)
        with _app.app_context():
            if outbox_id is not None and not _start(outbox_id):
                return None
            try:
                result = fn(*args, **kwargs)
                if outbox_id is not None:
                    db.session.execute(delete(JobOutbox).where(JobOutbox.id == outbox_id))
                db.session.commit()
                return result
            except Exception as exc:
                db.session.rollback()
                _record_failure(name, args, exc)
                if outbox_id is not None:
                    _after_failure(outbox_id, retrying=bool(message.retries))
                raise

    return run


def app_task(**task_options):
    """``@app_task(retries=2, retry_delay=10)``: a huey task with its own app context and transaction.
    Queue it with ``enqueue(task, *args)``, never by calling it from a request."""
    return lambda fn: huey.task(context=True, **task_options)(_in_app_transaction(fn, outbox=True))


def app_periodic_task(validate_datetime, **task_options):
    """A periodic job (``crontab(...)``) run like ``app_task``."""
    return lambda fn: huey.periodic_task(validate_datetime, **task_options)(_in_app_transaction(fn))
