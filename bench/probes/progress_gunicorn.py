"""gunicorn hooks for bench/progress.py: time each heartbeat's insert in the workers.

On SQLite the insert is the statement that takes the database's write lock, so its wall time is
the wait for the other worker's transaction plus a few microseconds of work. Each worker writes
its timings to ``$PROGRESS_PROBE_DIR/<pid>.json`` when it exits.
"""
import json
import os
import time

_TIMES: list[float] = []


def post_fork(server, worker):
    from lms.learning.store import SqliteStore

    insert = SqliteStore.insert_heartbeat

    def timed(self, values):
        t0 = time.perf_counter()
        try:
            return insert(self, values)
        finally:
            _TIMES.append(time.perf_counter() - t0)

    SqliteStore.insert_heartbeat = timed


def worker_exit(server, worker):
    folder = os.environ.get("PROGRESS_PROBE_DIR")
    if folder:
        with open(os.path.join(folder, f"{os.getpid()}.json"), "w") as fh:
            json.dump(_TIMES, fh)
