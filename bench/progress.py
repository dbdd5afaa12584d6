"""Heartbeat capacity through gunicorn, on SQLite and on PostgreSQL in one run.

Every learner is a distinct account, signed in through the real sign-in form, with its own session
cookie, the CSRF token of its lesson page, its own client_id and increasing seq, and its own
keep-alive connection (a browser tab holds one); the load generator is bench/probes/heartbeat_load.py.

Capacity, not the offered rate: after a warm-up (every learner's first heartbeat, spread over
``--warmup`` seconds and reported apart: it goes through Flask, which checks the cookie and CSRF
token for the first time in that worker), the offered rate is raised step by step (``--rates``,
``--step-seconds`` each) by letting more learners beat, until a step's p99 passes
``--p99-limit-ms`` (100) or a heartbeat is refused; the capacity is the highest step that held.
Each step reports p50/p95/p99/max (after its first second), the server's CPU per request (the
gunicorn processes, and the PostgreSQL server's when the bench started it), the load average, and
where a heartbeat waits (bench/probes/progress_gunicorn.py): on SQLite the writers' lock (mutex
and flock) and the writes inside it, on PostgreSQL the read and the write statements (the write
includes its commit's WAL flush).

Time scaling: each learner beats every ``--period`` wall seconds (0.9) instead of 15, claiming the
seconds just played, so the server's pacing clock is satisfied honestly; the server's per-learner
clocks run 15 / period times faster to match (see bench/probes/progress_gunicorn.py for which, and
why the per-process caches are not scaled). Open loop: beats are due on the clock, not on the
previous answer, and latency counts from the due time, so queueing shows. 3 % of heartbeats are
sent twice as a client retry would be.

Afterwards the database is checked: every acknowledged heartbeat is stored exactly once, and each
learner's merged intervals are exactly the seconds acknowledged (nothing lost, nothing doubled).

    .venv/bin/python bench/progress.py [--postgres | --database-url URL] [--rates 600,800,...]
        [--step-seconds 8] [--period 0.9] [--warmup 5] [--quick]

``--postgres`` starts a throwaway PostgreSQL (durable defaults: fsync and synchronous_commit on) on
loopback beside this run; ``--database-url`` uses (and empties) a given one. Writes
bench/results/progress.json (``--quick``: progress.quick.json). Targets: >= 1,000 heartbeats/s
with p99 < 100 ms on each database.
"""
from __future__ import annotations

import argparse
import collections
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VILLAGE = "621123100201"
sys.path.insert(0, str(ROOT / "bench" / "probes"))
from bench.common import postgres_version, throwaway_postgres, write_results  # noqa: E402  (its import notes the start)
from heartbeat_load import PIN, Drive, sign_in_all  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict, learners: int, duration: float, fresh: bool = False) -> int:
    """Schema, a village, one published one-hour video lesson and the learners; returns the lesson id."""
    os.environ.update(env)
    from werkzeug.security import generate_password_hash

    from courses import services as course_services
    from courses.models import Course, Lesson, LessonKind, Programme, Skill
    from lms import create_app
    from lms.accounts.models import Role, User
    from lms.accounts.services import learner_login_key
    from lms.crypto import mask_identifier
    from lms.extensions import db
    from lms.regions.models import Region

    app = create_app()
    with app.app_context():
        if fresh:  # a PostgreSQL database given to the bench: emptied
            db.drop_all()
        db.create_all()
        for code, name, level, parent in (("620000000000", "甘肃省", 1, None), ("621100000000", "定西市", 2, "620000000000"),
                                          ("621123000000", "渭源县", 3, "621100000000"),
                                          ("621123100000", "清源镇", 4, "621123000000"),
                                          (VILLAGE, "示例一村", 5, "621123100000")):
            db.session.add(Region(code=code, name=name, level=level, parent_code=parent))
        db.session.flush()
        course_services.seed_catalogue()
        course = Course(title="bench", summary="", published=True,
                        programme_id=db.session.scalar(db.select(Programme.id).limit(1)),
                        skill_id=db.session.scalar(db.select(Skill.id).limit(1)))
        db.session.add(course)
        db.session.flush()
        lesson = Lesson(course_id=course.id, title="video", kind=LessonKind.video, position=0, duration=duration,
                        asset_id=None, required=True)
        db.session.add(lesson)
        # A cheap hash: the benchmark measures heartbeats, not PIN checking.
        pin_hash = generate_password_hash(PIN, method="pbkdf2:sha256:1")
        for i in range(learners):
            ident = f"1390000{i:04d}"
            db.session.add(User(role=Role.learner, display_name=f"学员{i}", password_hash=pin_hash,
                                login_key=learner_login_key(ident), login_hint=mask_identifier(ident),
                                region_code=VILLAGE, is_active_account=True))
        db.session.commit()
        lesson_id = lesson.id
        db.engine.dispose()
        return lesson_id


def cpu_seconds(pids) -> float:
    """User + system CPU seconds of these processes so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def server_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def verify(lesson_id, learners):
    """From the database: every acknowledged heartbeat is stored once, and each learner's merged
    intervals are exactly the seconds acknowledged (nothing lost, nothing counted twice)."""
    from lms import create_app
    from lms.accounts.models import User
    from lms.extensions import db
    from lms.learning import intervals as iv
    from lms.learning.models import Heartbeat, Progress

    app = create_app()
    with app.app_context():
        rows = db.session.execute(db.select(Heartbeat.client_id, Heartbeat.seq)).all()
        ids = dict(db.session.execute(db.select(User.display_name, User.id)).all())
        progress = {p.user_id: (p.watched_seconds, p.intervals) for p in db.session.scalars(
            db.select(Progress).where(Progress.lesson_id == lesson_id))}
        db.engine.dispose()
    stored: dict[int, list[int]] = {}
    for client_id, seq in rows:
        stored.setdefault(int(client_id.split("-")[1]), []).append(seq)
    lost = sum(len(set(ln.acked) - set(stored.get(ln.i, []))) for ln in learners)
    doubled = sum(len(v) - len(set(v)) for v in stored.values())
    unexpected = sum(len(set(stored.get(ln.i, [])) - set(ln.acked)) for ln in learners)
    lost_s = doubled_s = 0.0
    wrong = 0
    for ln in learners:
        expected = iv.merge(list(ln.acked.values()))
        watched, intervals = progress.get(ids[f"学员{ln.i}"], (0.0, []))
        have = iv.merge([tuple(x) for x in intervals or []])
        want, got = iv.total(expected), iv.total(have)
        both = want + got - iv.total(iv.merge(have, expected))
        lost_s += want - both  # acknowledged seconds missing from the stored intervals
        doubled_s += max(0.0, watched - want)  # counted beyond the seconds acknowledged
        if abs(watched - want) > 0.01 or abs(want - both) > 0.01 or abs(got - want) > 0.01:
            wrong += 1
    return {"heartbeats_acknowledged": sum(len(ln.acked) for ln in learners), "heartbeat_rows": len(rows),
            "lost_heartbeats": lost, "doubled_heartbeats": doubled, "stored_not_acknowledged": unexpected,
            "lost_seconds": round(lost_s, 2), "doubled_seconds": round(doubled_s, 2),
            "learners_with_wrong_progress": wrong}


def _beats(phase: float, period: float, seconds: float):
    t = phase
    while t < seconds:
        yield t
        t += period


def _ms(xs, p, digits=1):
    return round(xs[min(len(xs) - 1, int(p * len(xs)))] * 1000, digits) if xs else None


def run_database(args, database_url: str | None, database_pids=None) -> dict:
    """One server under test on one database: sign everybody in, warm up, then step the offered rate
    until p99 passes the limit or a heartbeat is refused; then check the database."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-progress-"))
    env = {"LMS_INSTANCE_PATH": str(tmp), "LMS_DATABASE_URL": database_url or f"sqlite:///{tmp / 'bench.db'}",
           "LMS_SECRET_KEY": "bench-secret", "LMS_DATA_KEY": "bench-data", "LMS_QUEUE_URL": f"sqlite:///{tmp / 'q.db'}",
           "LMS_RATELIMIT_URL": "memory://", "LMS_MEDIA_LINK_SECRET": "bench-media-link-secret"}
    learners = max(1, round(max(args.rates) * args.period))
    t_prepare = time.perf_counter()
    lesson_id = prepare(env, learners, duration=3600.0, fresh=database_url is not None)
    port = free_port()
    probe_dir = tmp / "probe"
    probe_dir.mkdir()
    # The real rhythm is 15 s; the server's own clocks (cookie re-signing, caches) run as fast.
    scale = 15.0 / args.period
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", str(args.workers), *args.gunicorn.split(),
                             "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                             "-c", str(ROOT / "bench" / "probes" / "progress_gunicorn.py"), "wsgi:app"],
                            cwd=ROOT, env={**os.environ, **env, "PROGRESS_PROBE_DIR": str(probe_dir),
                                           "PROGRESS_TIME_SCALE": str(scale)}, start_new_session=True)
    steps = []
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        t0 = time.perf_counter()
        prepare_s = t0 - t_prepare
        sessions = asyncio.run(sign_in_all(port, learners, lesson_id))
        signin_s = time.perf_counter() - t0
        pids = server_pids(proc.pid)
        drive = Drive(port, sessions, lesson_id, args.period, args.retries)
        # Warm-up: each learner's first heartbeat (its connection, the first check of its cookie
        # and CSRF token in that worker) spread over --warmup seconds, reported apart.
        begin = time.perf_counter() + 0.2
        drive.run([(begin + args.warmup * i / learners, i) for i in range(learners)])
        warm = sorted(lat for _, lat, _ in drive.samples)
        warm_errors = len(drive.errors)
        for rate in args.rates:
            active = max(1, round(rate * args.period))
            print(f"  step {rate:g}/s ({active} learners)", file=sys.stderr, flush=True)
            n0, e0, acked0 = len(drive.samples), len(drive.errors), sum(len(ln.acked) for ln in drive.learners)
            db_pids = database_pids() if database_pids else []
            cpu0, db0, client0 = cpu_seconds(pids), cpu_seconds(db_pids), time.process_time()
            load0, wall0 = os.getloadavg()[0], time.time()
            begin = time.perf_counter() + 0.1
            dues = [(begin + t, i) for i in range(active)
                    for t in _beats(drive.phase[i], args.period, args.step_seconds)]
            drive.run(dues)
            spent = time.perf_counter() - begin
            samples = drive.samples[n0:]
            # The first second settles the step change; the rest is the step's steady state.
            lat = sorted(x for due, x, _ in samples if due >= begin + 1.0) or sorted(x for _, x, _ in samples)
            statuses: dict[int, int] = {}
            for _, _, st in samples:
                statuses[st] = statuses.get(st, 0) + 1
            acked = sum(len(ln.acked) for ln in drive.learners) - acked0
            step = {"offered_per_s": round(len(dues) / args.step_seconds, 1), "learners": active,
                    "heartbeats_per_s": round(acked / spent, 1), "requests": len(samples),
                    "p50_ms": _ms(lat, 0.50), "p95_ms": _ms(lat, 0.95), "p99_ms": _ms(lat, 0.99), "max_ms": _ms(lat, 1.0),
                    "status": statuses,
                    "server_cpu_us_per_request": round((cpu_seconds(pids) - cpu0) / max(1, len(samples)) * 1e6),
                    "client_cpu_us_per_request": round((time.process_time() - client0) / max(1, len(samples)) * 1e6),
                    "loadavg_1min": [round(load0, 2), round(os.getloadavg()[0], 2)], "wall": [wall0, time.time()]}
            if db_pids:  # the PostgreSQL server's processes (backends, WAL writer, ...)
                step["database_cpu_us_per_request"] = round((cpu_seconds(db_pids) - db0) / max(1, len(samples)) * 1e6)
            step["held"] = len(drive.errors) == e0 and step["p99_ms"] is not None and step["p99_ms"] < args.p99_limit_ms
            steps.append(step)
            print(f"  {step['offered_per_s']:>7.1f}/s offered: {step['heartbeats_per_s']:>7.1f}/s stored, "
                  f"p50 {step['p50_ms']} p95 {step['p95_ms']} p99 {step['p99_ms']} ms, status {statuses}, "
                  f"server {step['server_cpu_us_per_request']} us/request", file=sys.stderr)
            if not step["held"]:
                break
        drive.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    probes = [json.loads(line) for f in probe_dir.glob("*.jsonl") for line in f.read_text().splitlines()]
    for step in steps:
        a, b = step.pop("wall")
        for kind in ("lock_wait", "read", "write"):
            xs = sorted(d for t, k, d in probes if k == kind and a <= t < b)
            if xs:
                step[f"{kind}_ms"] = {"p50": _ms(xs, 0.5, 3), "p99": _ms(xs, 0.99, 3), "max": _ms(xs, 1.0, 3),
                                      "count": len(xs)}
        fast = sum(1 for t, k, _ in probes if k == "answered" and a <= t < b)
        step["answered_in_fast_path"] = round(fast / max(1, step["requests"]), 3)
        if database_url:  # PostgreSQL: statements (round trips) per heartbeat answered in the fast path
            trips = step.get("read_ms", {}).get("count", 0) + step.get("write_ms", {}).get("count", 0)
            step["statements_per_answered_heartbeat"] = round(trips / max(1, fast), 3)
        step["deferred_to_flask"] = dict(sorted(collections.Counter(
            k.removeprefix("defer:") for t, k, _ in probes if k.startswith("defer:") and a <= t < b).items()))
    held = [s for s in steps if s["held"]]
    result = {"learners_signed_in": learners, "prepare_s": round(prepare_s, 1), "signin_s": round(signin_s, 1), "time_scale": round(scale, 2),
              "capacity_heartbeats_per_s": held[-1]["offered_per_s"] if held else 0,
              "capacity_p99_ms": held[-1]["p99_ms"] if held else None,
              "warmup": {"seconds": args.warmup, "p99_ms": _ms(warm, 0.99), "max_ms": _ms(warm, 1.0),
                         "errors": warm_errors},
              "steps": steps, "reconnects": drive.reconnects,
              **verify_in(env, lesson_id, drive.learners),
              "errors_sample": [str(e) for e in drive.errors[:5]]}
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def verify_in(env, lesson_id, learners):
    os.environ.update(env)
    return verify(lesson_id, learners)


def main():
    # A timeout's SIGTERM must still stop the servers (they run in their own sessions).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="600,800,1000,1200,1400,1600",
                    help="offered heartbeats/s, one step each, until a step fails")
    ap.add_argument("--step-seconds", type=float, default=8.0)
    ap.add_argument("--p99-limit-ms", type=float, default=100.0)
    ap.add_argument("--period", type=float, default=0.9,
                    help="wall seconds between one learner's heartbeats (the real 15 s, time-scaled)")
    ap.add_argument("--retries", type=float, default=0.03, help="share of heartbeats sent twice")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds over which every learner sends its first heartbeat")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--gunicorn", default="--worker-class gthread --threads 4 --keep-alive 75",
                    help="further gunicorn options (production's, from the Makefile)")
    ap.add_argument("--database-url", default="", help="also run on this PostgreSQL database (emptied first)")
    ap.add_argument("--postgres", action="store_true", help="also run on a throwaway PostgreSQL started here")
    ap.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of a few seconds")
    args = ap.parse_args()
    if args.quick:
        args.rates, args.step_seconds, args.warmup, args.period = "10,20", 2.0, 1.0, 0.5
    args.rates = [float(r) for r in args.rates.split(",")]
    databases, pg_version = {}, None
    if not args.no_sqlite:
        print("SQLite", file=sys.stderr)
        databases["sqlite"] = run_database(args, None)
    if args.database_url:
        print("PostgreSQL", file=sys.stderr)
        pg_version = postgres_version(args.database_url)
        databases["postgresql"] = run_database(args, args.database_url)
    elif args.postgres:
        print("PostgreSQL (throwaway)", file=sys.stderr)
        with throwaway_postgres() as (url, data):
            def server_pids_of() -> list[int]:  # the PostgreSQL server's processes (backends, WAL writer, ...)
                return server_pids(int((data / "postmaster.pid").read_text().split()[0]))

            pg_version = postgres_version(url)
            databases["postgresql"] = run_database(args, url, server_pids_of)
            databases["postgresql"]["server"] = "throwaway, durable defaults (fsync, synchronous_commit on)"
    figures = {"rates_offered": args.rates, "step_seconds": args.step_seconds, "p99_limit_ms": args.p99_limit_ms,
               "period_s": args.period, "retry_share": args.retries,
               "gunicorn": f"-w {args.workers} {args.gunicorn}", "databases": databases}
    write_results("progress", figures, argv=sys.argv, quick=args.quick,
                  extra_versions={"postgresql": pg_version} if pg_version else None)


if __name__ == "__main__":
    main()
