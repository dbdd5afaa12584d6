"""``/healthz``: can this host serve? Database, queue, media disk and the workers' heartbeat.

For a load balancer or a monitor: no session, no CSRF, no rate limit, no ORM user, four cheap
checks (``SELECT 1``, the queue's length, ``statvfs`` of the media volume, one row read).
"""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select, text

from lms.db import utcnow
from lms.extensions import db

# The worker stamps its row every minute: three missed minutes is a dead or stuck worker.
WORKER_STALE_AFTER = timedelta(minutes=3)
CHECKS = ("database", "queue", "disk", "worker")
# What a web host itself needs to answer people: the load balancer's question (?for=web). A
# stuck worker is a reason to alert, not to take every web host out of service.
WEB_CHECKS = ("database", "queue", "disk")


def _timed(check):
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # the check's failure is the answer, never a 500
        result = {"ok": False, "error": f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def check_database() -> dict:
    db.session.execute(text("SELECT 1"))
    return {"ok": True}


def check_queue() -> dict:
    from lms.queue import huey

    return {"ok": True, "pending": huey.storage.queue_size()}


def check_disk() -> dict:
    from media.storage import disk_status

    return dict(disk_status())


def check_worker() -> dict:
    from .models import WorkerHeartbeat

    last = db.session.scalar(select(func.max(WorkerHeartbeat.seen_at)))
    if last is None:
        return {"ok": False, "last_seen": None}
    age = (utcnow() - last).total_seconds()
    return {"ok": age <= WORKER_STALE_AFTER.total_seconds(), "last_seen": last.isoformat(),
            "age_seconds": round(age)}


def health(names=CHECKS) -> tuple[dict, bool]:
    functions = {"database": check_database, "queue": check_queue, "disk": check_disk, "worker": check_worker}
    results = {}
    for name in names:
        results[name] = _timed(functions[name])
        if name == "database" and not results[name]["ok"] and "worker" in names:
            results["worker"] = {"ok": False, "error": "database unavailable"}
            names = [n for n in names if n != "worker"]
    ok = all(r["ok"] for r in results.values())
    return {"status": "ok" if ok else "fail", "checks": results}, ok
