"""Run one heavy job in a short-lived child of the job worker, so its memory goes back to the
system when it ends.

Indexing needs jieba's dictionary and pypinyin's tables (~120 MB); a worker that loaded them
once would hold them for ever, at rest, beside the web workers. Forked from the worker, the
child shares the worker's pages, loads what it needs, does the job and exits; the worker stays
small (bench/footprint.py measures it). The child costs the dictionary load (about a second) per
job, which publish→searchable (< 5 s) absorbs.

In-process (``QUEUE_IMMEDIATE``: tests, ``flask`` commands run inline) or with
``LMS_TASKS_IN_CHILD=0`` the job runs in the calling process, as before.
"""
from __future__ import annotations

import json
import logging
import os

log = logging.getLogger(__name__)


class ChildFailed(RuntimeError):
    """The child raised or died: the task fails, and huey retries it as it would any failure."""


def _enabled() -> bool:
    from flask import current_app

    if current_app.config.get("QUEUE_IMMEDIATE") or not hasattr(os, "fork"):
        return False
    return os.environ.get("LMS_TASKS_IN_CHILD", "1") != "0"


def run_forked(fn, *args):
    """``fn(*args)`` in a forked child inside the same app context; returns its JSON-able result."""
    if not _enabled():
        return fn(*args)
    from lms.extensions import db

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 1
        try:
            os.close(read_end)
            # The worker's connections and session stay the worker's: drop them without closing
            # (closing would roll back the worker's own transaction on a shared socket).
            db.session.registry.clear()
            for engine in db.engines.values():
                engine.dispose(close=False)
            try:
                payload = {"ok": fn(*args)}
                db.session.commit()
                status = 0
            except Exception as exc:
                db.session.rollback()
                log.exception("job in child failed")
                payload = {"error": f"{type(exc).__name__}: {exc}"}
            with os.fdopen(write_end, "w", encoding="utf-8") as out:
                json.dump(payload, out, default=str)
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, encoding="utf-8") as answer:
        text = answer.read()
    _pid, code = os.waitpid(pid, 0)
    try:
        payload = json.loads(text) if text else {}
    except ValueError:
        payload = {}
    if "ok" in payload and code == 0:
        return payload["ok"]
    raise ChildFailed(payload.get("error") or f"child exited with status {code}")
