"""gunicorn hooks for bench/progress.py: time each heartbeat's insert in the workers.

On SQLite the insert is the statement that takes the database's write lock, so its wall time is
the wait for the other worker's transaction plus a few microseconds of work. Each worker writes
its timings to ``$PROGRESS_PROBE_DIR/<pid>.json`` when it exits.
"""
import json
import os
import time

_TIMES: list[float] = []


_GC: list[tuple[int, float]] = []
_gc_start = [0.0]


def _gc_probe(phase, info):
    if phase == "start":
        _gc_start[0] = time.perf_counter()
    else:
        _GC.append((info["generation"], time.perf_counter() - _gc_start[0]))


def post_fork(server, worker):
    import gc

    from lms.learning.store import SqliteStore

    gc.callbacks.append(_gc_probe)

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
        with open(os.path.join(folder, f"{os.getpid()}.gc"), "w") as fh:
            json.dump(_GC, fh)
