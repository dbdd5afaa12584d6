"""Heartbeat ingestion through gunicorn (2 workers) on SQLite with 1,000 simulated learners.

Every learner is a distinct account, signed in through the real sign-in form, with its own session
cookie, the CSRF token of its lesson page, its own client_id and increasing seq, and its own
keep-alive connection (a browser tab holds one). The real rhythm is a heartbeat every 15 s
claiming the 15 s just played; here time is scaled so that each learner sends one every
``--period`` seconds (0.9 s: 1,111 heartbeats/s offered) claiming the ``period`` seconds just
played, so the server's pacing clock is satisfied honestly. 3 % of heartbeats are sent twice as a
client retry would be. The schedule is open loop: beats are due on the clock, not on the previous
answer (a learner waits only for its own unanswered beat), and latency counts from the due time,
so queueing shows in the percentiles. The load generator is one process of raw sockets with
pre-built requests, so its own CPU stays small; both its CPU and the server processes' CPU per
request are reported, with the load average (other work on the machine slows everything).

Afterwards the database is checked: every acknowledged heartbeat is stored exactly once, and each
learner's merged intervals are exactly the seconds acknowledged (nothing lost, nothing doubled).
The workers time each heartbeat's insert, the statement that takes SQLite's write lock
(bench/probes/progress_gunicorn.py).

The first ``--warmup`` seconds (5) are reported apart: in them all 1,000 learners open their
connection and send their first heartbeat within one period (0.9 s), which goes through Flask
(the progress row's insert), a stampede a village never makes. ``p50/p95/p99_ms`` are the
``--seconds`` after it; ``warmup_p99_ms``, ``whole_run_p99_ms`` and ``p99_ms_per_5s`` show the rest.

    .venv/bin/python bench/progress.py [--learners 1000] [--seconds 30] [--warmup 5] [--period 0.9]
        [--gunicorn "--worker-class gthread --threads 4 --keep-alive 75"]

Prints the figures and writes bench/results/progress.json. Targets: >= 1,000 heartbeats/s,
p99 < 100 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VILLAGE = "621123100201"
PIN = "135790"


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


class Conn:
    """A minimal HTTP/1.1 client over one connection, enough for this benchmark."""

    def __init__(self, port):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.reader = self.writer = None

    async def request(self, method, path, body=b"", headers=None):
        for attempt in range(3):
            try:
                return await self._request(method, path, body, headers)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.reader = None
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")

    async def _request(self, method, path, body, headers):
        if self.reader is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        hdrs = {"Host": f"127.0.0.1:{self.port}", "Content-Length": str(len(body)), "Connection": "keep-alive"}
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        hdrs.update(headers or {})
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "set-cookie":
                k, _, v = value.split(";")[0].partition("=")
                self.cookies[k] = v
            elif name == "connection" and value.lower() == "close":
                close = True
        data = await self.reader.readexactly(length) if length else b""
        if close:
            self.writer.close()
            self.reader = None
        return status, data


async def sign_in(port, i, lesson_id):
    conn = Conn(port)
    status, page = await conn.request("GET", "/signin?manual=1")
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', page)
    form = urlencode({"csrf_token": token.group(1).decode(), "identifier": f"1390000{i:04d}", "pin": PIN}).encode()
    status, _ = await conn.request("POST", "/signin?manual=1", form,
                                   {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 302, status
    status, page = await conn.request("GET", f"/learn/lessons/{lesson_id}")
    assert status == 200, status
    csrf = re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()
    return conn, csrf



class Learner:
    """One signed-in learner on its own keep-alive connection, as a browser tab would hold it."""

    __slots__ = ("i", "head", "sock", "seq", "pos", "inflight", "buf", "acked", "last")

    def __init__(self, i, cookies, csrf, port):
        self.i = i
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        # Everything but the body length is fixed: build it once.
        self.head = (f"POST /api/v1/progress HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
                     f"X-CSRFToken: {csrf}\r\nContent-Type: application/json\r\n").encode()
        self.sock = None
        self.seq = 0
        self.pos = 0.0  # media seconds played so far
        self.inflight = None
        self.buf = b""
        self.acked: dict[int, tuple[float, float]] = {}  # seq -> the interval it claimed
        self.last = (b"", 0, (0.0, 0.0))


class Drive:
    """The load. Each beat claims the ``period`` seconds of wall time since the learner's previous
    one (the real 15 s rhythm time-scaled by 15 / period, so the server's pacing clock is satisfied
    honestly). Open loop: beats are due on the clock, not on the previous answer; a learner waits
    only for its own unanswered beat (one connection, no pipelining), and latency counts from the
    due time, so queueing is not hidden. A share of beats is sent again 50 ms later as a client
    retry would be (same seq, same body)."""

    def __init__(self, port, sessions, lesson_id, period, retry_share, seed=7):
        self.port, self.lesson_id, self.period, self.retry_share = port, lesson_id, period, retry_share
        self.rng = random.Random(seed)
        self.sel = selectors.DefaultSelector()
        self.learners = [Learner(i, cookies, csrf, port) for i, (cookies, csrf) in enumerate(sessions)]
        self.phase = [self.rng.random() * period for _ in self.learners]
        self.reconnects = 0
        self.samples: list = []  # (due wall time, latency s, status)
        self.errors: list = []

    def run(self, dues):
        """Send the beats ``dues`` = [(perf_counter time, learner index)] and wait for every answer."""
        import heapq

        heap = [(due, i, False) for due, i in dues]
        heapq.heapify(heap)
        waiting: dict[int, list] = {}  # beats held back by the learner's unanswered one
        self.waiting = waiting
        while True:
            now = time.perf_counter()
            while heap and heap[0][0] <= now:
                due, i, retry = heapq.heappop(heap)
                if not retry and self.rng.random() < self.retry_share:
                    heapq.heappush(heap, (due + 0.05, i, True))
                ln = self.learners[i]
                if ln.inflight is not None:
                    waiting.setdefault(i, []).append((due, retry))
                else:
                    self.beat(ln, due, retry)
            if not heap and not any(waiting.values()) and all(ln.inflight is None for ln in self.learners):
                return
            timeout = max(0.0, heap[0][0] - time.perf_counter()) if heap else 0.5
            for key, _ in self.sel.select(timeout):
                self.on_readable(key.data)

    def connect(self, ln):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        ln.sock, ln.buf = s, b""
        self.sel.register(s, selectors.EVENT_READ, ln)

    def send(self, ln, body, scheduled):
        if ln.sock is None:
            self.connect(ln)
        ln.inflight = (body, scheduled)
        ln.sock.sendall(ln.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def beat(self, ln, scheduled, retry):
        if not retry:
            ln.seq += 1
            a, b = ln.pos, ln.pos + self.period
            ln.pos = b
            body = (b'{"lesson":%d,"intervals":[[%.3f,%.3f]],"position":%.3f,"client_id":"bench-%d","seq":%d}'
                    % (self.lesson_id, a, b, b, ln.i, ln.seq))
            ln.last = (body, ln.seq, (round(a, 3), round(b, 3)))
        self.send(ln, ln.last[0], scheduled)

    def drop(self, ln):
        self.sel.unregister(ln.sock)
        ln.sock.close()
        ln.sock = None

    def on_readable(self, ln):
        try:
            data = ln.sock.recv(65536)
        except ConnectionError:
            data = b""
        if not data:  # the server closed the connection (keep-alive timeout, a restart)
            self.drop(ln)
            if ln.inflight is not None:
                self.reconnects += 1
                self.send(ln, *ln.inflight)  # unanswered: send it again (idempotent per client_id, seq)
            return
        ln.buf += data
        head_end = ln.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = ln.buf[:head_end + 2]
        cl = head.lower().find(b"\r\ncontent-length:") + 17
        length = int(head[cl:head.find(b"\r\n", cl)])
        if len(ln.buf) < head_end + 4 + length:
            return
        body = ln.buf[head_end + 4:head_end + 4 + length]
        ln.buf = ln.buf[head_end + 4 + length:]
        status = int(head[9:12])
        body_sent, scheduled = ln.inflight
        ln.inflight = None
        self.samples.append((scheduled, time.perf_counter() - scheduled, status))
        if status == 200:
            if body_sent == ln.last[0]:
                ln.acked[ln.last[1]] = ln.last[2]
        else:
            self.errors.append((ln.i, status, body[:200]))
        if b"Set-Cookie" in head or b"set-cookie" in head:  # the idle clock moved: keep the new cookie
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"set-cookie:"):
                    name, _, value = line[11:].strip().split(b";")[0].partition(b"=")
                    ln.head = re.sub(rb"Cookie: [^\r]*", lambda m: _set_cookie(m.group(0), name, value), ln.head)
        if b"onnection: close" in head:
            self.drop(ln)
        held = self.waiting.get(ln.i)
        if held:
            self.beat(ln, *held.pop(0))

    def close(self):
        for ln in self.learners:
            if ln.sock is not None:
                self.drop(ln)


def _set_cookie(header: bytes, name: bytes, value: bytes) -> bytes:
    pairs = dict(p.split(b"=", 1) for p in header[8:].split(b"; "))
    pairs[name] = value
    return b"Cookie: " + b"; ".join(k + b"=" + v for k, v in pairs.items())


async def sign_in_all(port, learners, lesson_id):
    sem = asyncio.Semaphore(50)

    async def one(i):
        async with sem:
            conn, csrf = await sign_in(port, i, lesson_id)
            if conn.writer is not None:
                conn.writer.close()
            return conn.cookies, csrf

    return await asyncio.gather(*(one(i) for i in range(learners)))


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


def _ms(xs, p):
    return round(xs[min(len(xs) - 1, int(p * len(xs)))] * 1000, 1) if xs else None


@contextlib.contextmanager
def throwaway_postgres():
    """A PostgreSQL cluster in a temporary folder (the recipe of tests/with_postgres.sh) with the
    server's durable defaults: fsync, synchronous_commit and full_page_writes stay on, so an
    acknowledged heartbeat is on disk. Yields its URL; stopped and removed afterwards."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda b: int(b.parent.name))
    if not bins:
        sys.exit("PostgreSQL server binaries not found: install Debian's postgresql package.")
    pg = bins[-1]
    folder = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    port = free_port()
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_pg:
        shutil.chown(folder, "postgres")
    quiet = {"stdout": subprocess.DEVNULL, "check": True}
    try:
        subprocess.run([*as_pg, pg / "initdb", "-D", folder / "data", "-A", "trust", "-U", "postgres"], **quiet)
        subprocess.run([*as_pg, pg / "pg_ctl", "-D", folder / "data", "-l", folder / "log", "-w", "-o",
                        f"-k {folder} -p {port} -c listen_addresses=127.0.0.1", "start"], **quiet)
        subprocess.run([*as_pg, pg / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "bench"], **quiet)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/bench"
    finally:
        subprocess.run([*as_pg, pg / "pg_ctl", "-D", folder / "data", "-m", "fast", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)


def run_database(args, database_url: str | None) -> dict:
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
            cpu0, load0, wall0 = sum(cpu_seconds([p]) for p in pids), os.getloadavg()[0], time.time()
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
                    "status": statuses, "server_cpu_us_per_request": round(
                        (sum(cpu_seconds([p]) for p in pids) - cpu0) / max(1, len(samples)) * 1e6),
                    "loadavg_1min": [round(load0, 2), round(os.getloadavg()[0], 2)], "wall": [wall0, time.time()]}
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
                step[f"{kind}_ms"] = {"p50": round(_ms(xs, 0.5), 2), "p99": round(_ms(xs, 0.99), 2), "count": len(xs)}
        fast = sum(1 for t, k, _ in probes if k == "write" and a <= t < b)
        step["answered_in_fast_path"] = round(fast / max(1, step["requests"]), 3)
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
    ap.add_argument("--rates", default="600,800,1000,1200,1400,1600,1800,2000",
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
        args.rates, args.step_seconds, args.warmup, args.period = "20,40", 2.0, 1.0, 0.5
    args.rates = [float(r) for r in args.rates.split(",")]
    load0 = os.getloadavg()
    databases = {}
    if not args.no_sqlite:
        print("SQLite", file=sys.stderr)
        databases["sqlite"] = run_database(args, None)
    if args.database_url:
        print("PostgreSQL", file=sys.stderr)
        databases["postgresql"] = run_database(args, args.database_url)
    elif args.postgres:
        print("PostgreSQL (throwaway)", file=sys.stderr)
        with throwaway_postgres() as url:
            databases["postgresql"] = run_database(args, url)
            databases["postgresql"]["server"] = "throwaway, durable defaults (fsync, synchronous_commit on)"
    figures = {"rates_offered": args.rates, "step_seconds": args.step_seconds, "p99_limit_ms": args.p99_limit_ms,
               "period_s": args.period, "retry_share": args.retries,
               "gunicorn": f"-w {args.workers} {args.gunicorn}", "databases": databases}
    write(figures, args, load0)


def write(figures, args, load0):
    import platform
    import sqlite3

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    meta = {"commit": commit, "argv": sys.argv, "cpus": os.cpu_count(), "loadavg_start": [round(x, 2) for x in load0],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    text = json.dumps({"meta": meta, "figures": figures}, ensure_ascii=False, indent=2)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / ("progress.quick.json" if args.quick else "progress.json")).write_text(text)


if __name__ == "__main__":
    main()
