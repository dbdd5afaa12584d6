"""State changes of the deploy area: the worker's heartbeat row."""
from __future__ import annotations

import os
import socket
from datetime import timedelta

from sqlalchemy import delete

from lms.db import utcnow
from lms.extensions import db

from .models import WorkerHeartbeat

# Rows of workers gone for a day (restarted with a new pid, host retired) are dropped.
FORGET_AFTER = timedelta(days=1)


def record_worker_heartbeat(worker: str | None = None) -> None:
    """Stamp this worker process as alive now (flushes; the job commits)."""
    now = utcnow()
    name = worker or f"{socket.gethostname()}/{os.getpid()}"
    row = db.session.get(WorkerHeartbeat, name)
    if row is None:
        db.session.add(WorkerHeartbeat(worker=name, seen_at=now))
    else:
        row.seen_at = now
    db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < now - FORGET_AFTER))
    db.session.flush()
