"""Heartbeat ingestion through gunicorn (2 workers) on SQLite with 1,000 simulated learners.

Each simulated learner plays a video and sends a heartbeat every second (an open-loop schedule:
1,000 learners → 1,000 heartbeats/s offered), 3 % of them sent twice as a retry would be.
Afterwards the database is checked: every accepted heartbeat is recorded exactly once and each
learner's watched seconds equal the unique seconds accepted — nothing lost, nothing doubled.

    .venv/bin/python bench/progress.py [--learners 1000] [--seconds 20] [--workers 2]

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


async def learner(i, conn, csrf, lesson_id, start, seconds, stats, rng):
    # Spread the learners over the first second; each then beats once a second.
    t = start + rng.random()
    seq = 0
    headers = {"Content-Type": "application/json", "X-CSRFToken": csrf}
    while t < start + seconds:
        await asyncio.sleep(max(0.0, t - time.perf_counter()))
        seq += 1
        body = json.dumps({"lesson": lesson_id, "intervals": [[seq - 1, seq]], "position": seq,
                           "client_id": f"bench-{i}", "seq": seq}).encode()
        sends = 2 if rng.random() < 0.03 else 1
        for _ in range(sends):
            t0 = time.perf_counter()
            status, data = await conn.request("POST", "/api/v1/progress", body, headers)
            stats["lat"].append(time.perf_counter() - t0)
            stats["status"][status] = stats["status"].get(status, 0) + 1
        if status == 200:
            stats["accepted"].setdefault(i, set()).add(seq)
        else:
            stats["errors"].append((i, seq, status, data[:200]))
        t += 1.0


async def run(port, learners, seconds, lesson_id):
    sem = asyncio.Semaphore(50)

    async def one(i):
        async with sem:
            return await sign_in(port, i, lesson_id)

    t0 = time.perf_counter()
    sessions = await asyncio.gather(*(one(i) for i in range(learners)))
    signin_s = time.perf_counter() - t0
    # Playback is paced by wall time since the page opened: start after a moment.
    await asyncio.sleep(2)
    stats = {"lat": [], "status": {}, "accepted": {}, "errors": []}
    rng = random.Random(7)
    start = time.perf_counter()
    await asyncio.gather(*(learner(i, c, csrf, lesson_id, start, seconds, stats, rng)
                           for i, (c, csrf) in enumerate(sessions)))
    elapsed = time.perf_counter() - start
    return stats, elapsed, signin_s


def verify(env, lesson_id, stats):
    from lms import create_app
    from lms.extensions import db
    from lms.learning.models import Heartbeat, Progress

    app = create_app()
    with app.app_context():
        rows = db.session.execute(db.select(Heartbeat.client_id, Heartbeat.seq)).all()
        progress = {p.user_id: p for p in db.session.scalars(db.select(Progress))}
        from lms.accounts.models import User

        ids = {u.display_name: u.id for u in db.session.scalars(db.select(User))}
    stored = {}
    for client_id, seq in rows:
        stored.setdefault(int(client_id.split("-")[1]), []).append(seq)
    accepted = stats["accepted"]
    lost = sum(len(seqs - set(stored.get(i, []))) for i, seqs in accepted.items())
    doubled = sum(len(v) - len(set(v)) for v in stored.values())
    unexpected = sum(len(set(stored.get(i, [])) - seqs) for i, seqs in accepted.items())
    watched_mismatch = 0
    for i, seqs in accepted.items():
        p = progress.get(ids[f"学员{i}"])
        if p is None or abs(p.watched_seconds - len(seqs)) > 1e-6:
            watched_mismatch += 1
    return {"heartbeats_accepted": sum(len(s) for s in accepted.values()), "rows_stored": len(rows),
            "lost": lost, "doubled": doubled, "stored_but_not_acknowledged": unexpected,
            "learners_with_wrong_watched_seconds": watched_mismatch}


def main():
    # A timeout's SIGTERM must still stop the server (it runs in its own session).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser()
    ap.add_argument("--learners", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--worker-class", default="sync")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-progress-"))
    env = {"LMS_INSTANCE_PATH": str(tmp), "LMS_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
           "LMS_SECRET_KEY": "bench-secret", "LMS_DATA_KEY": "bench-data", "LMS_QUEUE_URL": f"sqlite:///{tmp / 'q.db'}",
           "LMS_RATELIMIT_URL": "memory://"}
    lesson_id = prepare(env, args.learners, duration=3600.0)
    port = free_port()
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    proc = subprocess.Popen([str(gunicorn), "-w", str(args.workers), "-k", args.worker_class, "-b", f"127.0.0.1:{port}",
                             "--keep-alive", "30", "--log-level", "warning", "wsgi:app"],
                            cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        stats, elapsed, signin_s = asyncio.run(run(port, args.learners, args.seconds, lesson_id))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    lat = sorted(stats["lat"])
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000  # noqa: E731
    check = verify(env, lesson_id, stats)
    result = {
        "learners": args.learners, "seconds": round(elapsed, 1), "workers": args.workers,
        "worker_class": args.worker_class, "requests": len(lat),
        "heartbeats_per_s": round(len(lat) / elapsed, 1),
        "p50_ms": round(q(0.50), 1), "p95_ms": round(q(0.95), 1), "p99_ms": round(q(0.99), 1),
        "max_ms": round(lat[-1] * 1000, 1), "status": stats["status"], "signin_s": round(signin_s, 1),
        **check, "errors_sample": [str(e) for e in stats["errors"][:5]],
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "progress.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
