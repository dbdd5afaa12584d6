"""gunicorn hooks for bench/progress.py: the time-scaled clocks, and where a heartbeat waits.

Time scaling: the bench sends each learner's heartbeat every ``period`` wall seconds instead of
every 15 s (``PROGRESS_TIME_SCALE`` = 15 / period), so each bench learner stands for ``scale`` real
learners and the server receives heartbeats at the real rate. Clocks kept per learner must then
run ``scale`` times faster, or each heartbeat would carry less of their work than in a village:
the idle clock's cookie re-signing (``lms.sessions.IDLE_GRANULARITY``, 60 s: every fifth
heartbeat of a learner re-signs the cookie) is divided by the scale. Clocks kept per process (the
settings cache of 5 s, the lesson cache of 30 s) are not: the process receives heartbeats at the
real rate, so their refreshes per heartbeat are already the real ones (scaled, they would be
``scale`` times too many). The idle sign-out limit costs nothing per heartbeat and is not scaled:
learners waiting for their step of the bench are paused, not away.

Probes, each written as ``[wall time, kind, seconds]`` lines to ``$PROGRESS_PROBE_DIR/<pid>.jsonl``
when the worker exits:
- ``lock_wait`` (SQLite): the wait for the heartbeat writers' lock (the worker's mutex, then the
  flock shared by the workers), which is where SQLite's single writer makes heartbeats queue;
- ``write``: the heartbeat's writing statements, inside the lock on SQLite (insert and update);
  on PostgreSQL the one statement that updates, inserts and commits (its WAL flush included);
- ``read`` (PostgreSQL): the statement that reads the user, the progress row and the key;
- ``defer:<reason>``: a heartbeat the fast path handed to Flask, and why (lms.learning.fastpath.Defer);
- ``answered``: a heartbeat the fast path answered itself.
On PostgreSQL a ``write`` whose row was remembered (lms.learning.store.PgFastStore) reads too: a
heartbeat answered with a write and no read took one statement.
"""
import json
import os
import runpy
import time

# make run's own settings (bin/gunicorn_conf.py: the app preloaded in the master, its collector
# frozen), so the bench measures the server as it is deployed; the hooks below come on top.
_PRODUCTION = runpy.run_path(os.path.join(os.path.dirname(__file__), "..", "..", "bin", "gunicorn_conf.py"))
preload_app = _PRODUCTION["preload_app"]
when_ready = _PRODUCTION["when_ready"]

_RECORDS: list = []


def _timed(cls, name, kind):
    original = getattr(cls, name)

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            _RECORDS.append((time.time(), kind, time.perf_counter() - t0))

    setattr(cls, name, timed)


def post_fork(server, worker):
    import contextlib

    _PRODUCTION["post_fork"](server, worker)

    import lms.sessions as sessions
    from lms.learning import fastpath, store

    scale = float(os.environ.get("PROGRESS_TIME_SCALE", "1"))
    sessions.IDLE_GRANULARITY = sessions.IDLE_GRANULARITY / scale  # AttributeError if renamed: follow it

    fetch = store.PgFastStore._fetch

    def timed_fetch(self, lesson_id):
        if self._read is not None:  # the statement ran already for this heartbeat
            return fetch(self, lesson_id)
        t0 = time.perf_counter()
        try:
            return fetch(self, lesson_id)
        finally:
            _RECORDS.append((time.time(), "read", time.perf_counter() - t0))

    store.PgFastStore._fetch = timed_fetch
    _timed(store.PgFastStore, "write", "write")
    held = fastpath._WriterLock.held

    @contextlib.contextmanager
    def timed_held(self, database):
        t0 = time.perf_counter()
        with held(self, database):
            t1 = time.perf_counter()
            _RECORDS.append((time.time(), "lock_wait", t1 - t0))
            yield
            _RECORDS.append((time.time(), "write", time.perf_counter() - t1))

    fastpath._WriterLock.held = timed_held
    answer = fastpath.HeartbeatFastPath.answer

    def noted_answer(self, environ, body):
        verdict = answer(self, environ, body)
        if isinstance(verdict, fastpath.Defer):
            _RECORDS.append((time.time(), "defer:" + verdict, 0.0))
        elif verdict is not fastpath.UNAVAILABLE:
            _RECORDS.append((time.time(), "answered", 0.0))
        return verdict

    fastpath.HeartbeatFastPath.answer = noted_answer


def worker_exit(server, worker):
    folder = os.environ.get("PROGRESS_PROBE_DIR")
    if folder:
        with open(os.path.join(folder, f"{os.getpid()}.jsonl"), "w") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in _RECORDS)
