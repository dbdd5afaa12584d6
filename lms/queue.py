"""The job queue: huey, SqliteHuey in ``instance/`` by default, RedisHuey for ``LMS_QUEUE_URL=redis://``.

The huey object must exist when task modules are imported, so it is built here from the
environment (the same variables ``create_app`` reads). ``app_task`` wraps a job so it runs in an
app context of its own, commits once at the end and rolls back (and records the failure) when it
raises; huey then retries it per the task's own policy.
"""
from __future__ import annotations

import functools
import os
import traceback
from datetime import datetime
from pathlib import Path

from huey import RedisHuey, SqliteHuey
from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lms.config import REPO_ROOT
from lms.db import UTCDateTime, utcnow
from lms.extensions import db


def _build_huey():
    url = os.environ.get("LMS_QUEUE_URL", "")
    if url.startswith("redis://") or url.startswith("rediss://"):
        return RedisHuey("xiangxue", url=url)
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


def init_app(app) -> None:
    global _app
    _app = app
    huey.immediate = bool(app.config.get("QUEUE_IMMEDIATE"))


def _record_failure(name: str, args, exc: BaseException) -> None:
    try:
        db.session.add(TaskFailure(task=name, args=list(args), error="".join(
            traceback.format_exception_only(type(exc), exc))[-4000:]))
        db.session.commit()
    except Exception:  # the failure record must never hide the task's own error
        db.session.rollback()


def _in_app_transaction(fn):
    @functools.wraps(fn)
    def run(*args, **kwargs):
        if _app is None:
            raise RuntimeError("lms.queue.init_app was not called: create the app first")
        with _app.app_context():
            try:
                result = fn(*args, **kwargs)
                db.session.commit()
                return result
            except Exception as exc:
                db.session.rollback()
                _record_failure(f"{fn.__module__}.{fn.__name__}", args, exc)
                raise

    return run


def app_task(**task_options):
    """``@app_task(retries=2, retry_delay=10)``: a huey task with its own app context and transaction."""
    return lambda fn: huey.task(**task_options)(_in_app_transaction(fn))


def app_periodic_task(validate_datetime, **task_options):
    """A periodic job (``crontab(...)``) run like ``app_task``."""
    return lambda fn: huey.periodic_task(validate_datetime, **task_options)(_in_app_transaction(fn))
