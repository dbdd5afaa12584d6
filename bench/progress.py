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
import json
import os
import random
import re
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


def prepare(env: dict, learners: int, duration: float) -> int:
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
        return lesson.id


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

    __slots__ = ("i", "head", "sock", "seq", "inflight", "buf", "acked", "last")

    def __init__(self, i, cookies, csrf, port):
        self.i = i
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        # Everything but the body length is fixed: build it once.
        self.head = (f"POST /api/v1/progress HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
                     f"X-CSRFToken: {csrf}\r\nContent-Type: application/json\r\n").encode()
        self.sock = None
        self.seq = 0
        self.inflight = None
        self.buf = b""
        self.acked = set()
        self.last = b""


def drive(port, sessions, lesson_id, seconds, period, retry_share, seed=7):
    """The load: each learner beats every ``period`` seconds of wall time, claiming the ``period``
    seconds it just played (the real 15 s rhythm, time-scaled by 15 / period, so the server's
    pacing clock is satisfied honestly). Open loop: beats are scheduled on the clock, not on the
    previous answer; a learner waits only for its own previous answer (one connection, no
    pipelining), and latency counts from the scheduled time, so queueing is not hidden."""
    import heapq
    import selectors

    rng = random.Random(seed)
    sel = selectors.DefaultSelector()
    learners = [Learner(i, cookies, csrf, port) for i, (cookies, csrf) in enumerate(sessions)]
    start = time.perf_counter() + 0.5
    end = start + seconds
    heap = []
    for ln in learners:
        heapq.heappush(heap, (start + rng.random() * period, ln.i, False))
    lat, status_counts, errors = [], {}, []
    lat_by_time = []  # (seconds into the run, latency): the first beats open connections and sessions
    waiting: dict[int, list] = {}  # beats held back by the learner's unanswered one
    reconnects = 0

    def connect(ln):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        ln.sock = s
        ln.buf = b""
        sel.register(s, selectors.EVENT_READ, ln)

    def send(ln, body, scheduled):
        if ln.sock is None:
            connect(ln)
        ln.inflight = (body, scheduled)
        ln.sock.sendall(ln.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def beat(ln, scheduled, retry):
        if not retry:
            ln.seq += 1
            k = ln.seq
            ln.last = (b'{"lesson":%d,"intervals":[[%.3f,%.3f]],"position":%.3f,"client_id":"bench-%d","seq":%d}'
                       % (lesson_id, (k - 1) * period, k * period, k * period, ln.i, k))
        # A retry is what a client sends after a lost answer: the same seq, the same body.
        send(ln, ln.last, scheduled)

    def reconnect(ln):
        nonlocal reconnects
        reconnects += 1
        sel.unregister(ln.sock)
        ln.sock.close()
        ln.sock = None
        send(ln, *ln.inflight)  # unanswered: send it again (idempotent per client_id, seq)

    def on_readable(ln):
        try:
            data = ln.sock.recv(65536)
        except ConnectionError:
            data = b""
        if not data:
            reconnect(ln)
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
        now = time.perf_counter()
        body_sent, scheduled = ln.inflight
        ln.inflight = None
        lat.append(now - scheduled)
        lat_by_time.append((scheduled - start, now - scheduled))
        status_counts[status] = status_counts.get(status, 0) + 1
        if status == 200:
            ln.acked.add(int(body_sent.rsplit(b'"seq":', 1)[1][:-1]))
        else:
            errors.append((ln.i, status, body[:200]))
        if b"Set-Cookie" in head or b"set-cookie" in head:  # the idle clock moved: keep the new cookie
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"set-cookie:"):
                    name, _, value = line[11:].strip().split(b";")[0].partition(b"=")
                    ln.head = re.sub(rb"Cookie: [^\r]*", lambda m: _set_cookie(m.group(0), name, value), ln.head)
        if b"onnection: close" in head:
            sel.unregister(ln.sock)
            ln.sock.close()
            ln.sock = None
        held = waiting.get(ln.i)
        if held:
            beat(ln, *held.pop(0))

    while True:
        now = time.perf_counter()
        while heap and heap[0][0] <= now:
            due, i, retry = heapq.heappop(heap)
            ln = learners[i]
            if not retry:
                if rng.random() < retry_share:
                    heapq.heappush(heap, (due + 0.05, i, True))
                if due + period < end:
                    heapq.heappush(heap, (due + period, i, False))
            if ln.inflight is not None:
                waiting.setdefault(i, []).append((due, retry))
            else:
                beat(ln, due, retry)
        if not heap and not any(waiting.values()) and all(ln.inflight is None for ln in learners):
            break
        timeout = max(0.0, heap[0][0] - time.perf_counter()) if heap else 0.5
        for key, _ in sel.select(timeout):
            on_readable(key.data)
    elapsed = time.perf_counter() - start
    for ln in learners:
        if ln.sock is not None:
            ln.sock.close()
    return {"lat": lat, "lat_by_time": lat_by_time, "status": status_counts, "errors": errors, "reconnects": reconnects,
            "accepted": {ln.i: ln.acked for ln in learners}}, elapsed


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


def verify(lesson_id, stats, period):
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
    stored: dict[int, list[int]] = {}
    for client_id, seq in rows:
        stored.setdefault(int(client_id.split("-")[1]), []).append(seq)
    accepted = stats["accepted"]
    lost = sum(len(seqs - set(stored.get(i, []))) for i, seqs in accepted.items())
    doubled = sum(len(v) - len(set(v)) for v in stored.values())
    unexpected = sum(len(set(stored.get(i, [])) - seqs) for i, seqs in accepted.items())
    lost_s = doubled_s = 0.0
    wrong = 0
    for i, seqs in accepted.items():
        expected = iv.merge([((k - 1) * period, k * period) for k in seqs])
        watched, intervals = progress.get(ids[f"学员{i}"], (0.0, []))
        have = iv.merge([tuple(x) for x in intervals or []])
        want, got = iv.total(expected), iv.total(have)
        both = want + got - iv.total(iv.merge(have, expected))
        lost_s += want - both  # acknowledged seconds missing from the stored intervals
        doubled_s += max(0.0, watched - want)  # counted beyond the seconds acknowledged
        if abs(watched - want) > 0.01 or abs(want - both) > 0.01 or abs(got - want) > 0.01:
            wrong += 1
    return {"heartbeats_acknowledged": sum(len(s) for s in accepted.values()), "heartbeat_rows": len(rows),
            "lost_heartbeats": lost, "doubled_heartbeats": doubled, "stored_not_acknowledged": unexpected,
            "lost_seconds": round(lost_s, 2), "doubled_seconds": round(doubled_s, 2),
            "learners_with_wrong_progress": wrong}


def _windows(samples, width):
    out = []
    for k in range(int(max((t for t, _ in samples), default=0) // width) + 1):
        w = sorted(x for t, x in samples if k * width <= t < (k + 1) * width)
        if w:
            out.append(round(w[min(len(w) - 1, int(0.99 * len(w)))] * 1000, 1))
    return out


def main():
    # A timeout's SIGTERM must still stop the server (it runs in its own session).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser()
    ap.add_argument("--learners", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--period", type=float, default=0.9,
                    help="wall seconds between one learner's heartbeats (the real 15 s, time-scaled)")
    ap.add_argument("--retries", type=float, default=0.03, help="share of heartbeats sent twice")
    ap.add_argument("--warmup", type=float, default=5.0,
                    help="first seconds, reported apart: every learner opens its connection and sends "
                         "its first heartbeat within one period")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--gunicorn", default="--worker-class gthread --threads 4 --keep-alive 75",
                    help="further gunicorn options (production's, from the Makefile)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-progress-"))
    env = {"LMS_INSTANCE_PATH": str(tmp), "LMS_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
           "LMS_SECRET_KEY": "bench-secret", "LMS_DATA_KEY": "bench-data", "LMS_QUEUE_URL": f"sqlite:///{tmp / 'q.db'}",
           "LMS_RATELIMIT_URL": "memory://"}
    lesson_id = prepare(env, args.learners, duration=3600.0)
    port = free_port()
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    probe_dir = tmp / "probe"
    probe_dir.mkdir()
    proc = subprocess.Popen([str(gunicorn), "-w", str(args.workers), *args.gunicorn.split(), "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", "-c", str(ROOT / "bench" / "probes" / "progress_gunicorn.py"),
                             "wsgi:app"],
                            cwd=ROOT, env={**os.environ, **env, "PROGRESS_PROBE_DIR": str(probe_dir)},
                            start_new_session=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        t0 = time.perf_counter()
        sessions = asyncio.run(sign_in_all(port, args.learners, lesson_id))
        signin_s = time.perf_counter() - t0
        pids = server_pids(proc.pid)
        load0 = os.getloadavg()
        per0, client0 = [cpu_seconds([pid]) for pid in pids], time.process_time()
        stats, elapsed = drive(port, sessions, lesson_id, args.seconds + args.warmup, args.period, args.retries)
        per_process = [cpu_seconds([pid]) - c for pid, c in zip(pids, per0)]
        server_cpu, client_cpu = sum(per_process), time.process_time() - client0
        load1 = os.getloadavg()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    every = sorted(stats["lat"])
    lat = sorted(x for t, x in stats["lat_by_time"] if t >= args.warmup)  # steady state
    warm = sorted(x for t, x in stats["lat_by_time"] if t < args.warmup)
    q = lambda p, xs=lat: xs[min(len(xs) - 1, int(p * len(xs)))] * 1000  # noqa: E731
    inserts = sorted(t for f in probe_dir.glob("*.json") for t in json.loads(f.read_text()))
    gc_pauses = [p for f in probe_dir.glob("*.gc") for p in json.loads(f.read_text())]
    qi = lambda p: inserts[min(len(inserts) - 1, int(p * len(inserts)))] * 1000 if inserts else None  # noqa: E731
    check = verify(lesson_id, stats, args.period)
    beats = check["heartbeats_acknowledged"]
    result = {
        "learners": args.learners, "seconds": round(elapsed, 1), "period_s": args.period,
        "offered_heartbeats_per_s": round(args.learners / args.period, 1),
        "gunicorn": f"-w {args.workers} {args.gunicorn}", "requests": len(every),
        "heartbeats_per_s": round(beats / elapsed, 1), "requests_per_s": round(len(every) / elapsed, 1),
        # Latency after the warm-up (steady state), then the warm-up's own and the whole run's.
        "p50_ms": round(q(0.50), 1), "p95_ms": round(q(0.95), 1), "p99_ms": round(q(0.99), 1),
        "max_ms": round(lat[-1] * 1000, 1),
        "warmup_s": args.warmup, "warmup_p99_ms": round(q(0.99, warm), 1) if warm else None,
        "warmup_max_ms": round(warm[-1] * 1000, 1) if warm else None,
        "whole_run_p99_ms": round(q(0.99, every), 1),
        "status": stats["status"], "reconnects": stats["reconnects"],
        "server_cpu_us_per_request": round(server_cpu / len(every) * 1e6),
        "client_cpu_us_per_request": round(client_cpu / len(every) * 1e6),
        "server_cpu_s_master_and_workers": [round(c, 2) for c in per_process],
        # The insert takes SQLite's write lock: its wall time is mostly the wait for the other writer.
        "write_lock_insert_ms": {"count": len(inserts), "p50": qi(0.5) and round(qi(0.5), 3),
                                 "p99": qi(0.99) and round(qi(0.99), 2), "max": qi(1.0) and round(qi(1.0), 2),
                                 "mean": round(sum(inserts) / len(inserts) * 1000, 3) if inserts else None},
        # p99 per 5 s of the run: the first window includes every learner's first heartbeat (its
        # connection, its session's first check, the progress row's insert through Flask).
        "p99_ms_per_5s": _windows(stats["lat_by_time"], 5.0),
        # Garbage-collector pauses in the workers, per generation: [count, total ms, longest ms].
        "gc_pauses": {str(g): [len(d), round(sum(d) * 1000, 1), round(max(d) * 1000, 1)]
                      for g in (0, 1, 2) if (d := [t for gen, t in gc_pauses if gen == g])},
        "loadavg_before": [round(x, 2) for x in load0], "loadavg_after": [round(x, 2) for x in load1],
        "signin_s": round(signin_s, 1),
        **check, "errors_sample": [str(e) for e in stats["errors"][:5]],
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "progress.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
