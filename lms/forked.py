"""Run one heavy job in a short-lived child process of the job worker, so its memory goes back to
the system when it ends.

Indexing needs jieba's dictionary and pypinyin's tables (~120 MB); a worker that loaded them
once would hold them for ever, at rest, beside the web workers. The child (``python -m
lms.forked MODULE FUNCTION ARGS``) creates the app from the same environment as the worker, loads
what it needs, does the job in its own transaction and exits; the worker stays small
(bench/footprint.py measures it). The child costs an app start and the dictionary load (about two
seconds) per job, which publish→searchable (< 5 s) absorbs.

A new interpreter rather than ``os.fork()``: the worker has several threads, and a fork taken
while another thread holds SQLite's or a driver's internal mutex leaves the child waiting on it
for ever (bench/footprint.py met exactly that).

In-process (``QUEUE_IMMEDIATE``: tests, ``flask`` commands run inline) or with
``LMS_TASKS_IN_CHILD=0`` the job runs in the calling process, as before.
"""
from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parent.parent


class ChildFailed(RuntimeError):
    """The child raised or died: the task fails, and huey retries it as it would any failure."""


def _enabled() -> bool:
    from flask import current_app

    if current_app.config.get("QUEUE_IMMEDIATE"):
        return False
    return os.environ.get("LMS_TASKS_IN_CHILD", "1") != "0"


def run_in_child(fn, *args):
    """``fn(*args)`` (a module-level function taking JSON values) in a child process with its own
    app and transaction; returns its JSON result."""
    if not _enabled():
        return fn(*args)
    out = subprocess.run([sys.executable, "-m", "lms.forked", fn.__module__, fn.__qualname__, json.dumps(args)],
                         cwd=REPO, capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    try:
        payload = json.loads(lines[-1]) if lines else {}
    except ValueError:
        payload = {}
    if out.returncode == 0 and "ok" in payload:
        return payload["ok"]
    log.warning("job %s.%s in a child failed: %s", fn.__module__, fn.__qualname__, out.stderr[-2000:])
    raise ChildFailed(payload.get("error") or f"child exited with status {out.returncode}")


def _child_main(module: str, name: str, args_json: str) -> int:
    from lms import create_app
    from lms.extensions import db

    fn = getattr(importlib.import_module(module), name)
    app = create_app()
    with app.app_context():
        try:
            result = fn(*json.loads(args_json))
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            log.exception("job in child failed")
            print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
            return 1
    print(json.dumps({"ok": result}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(*sys.argv[1:4]))
