"""Memory and start-up of `make run`, on a fresh checkout.

Clones the repository (a fresh checkout: no instance folder, no compiled catalogs, no copied
front-end assets), installs the packages there untimed (`make packages`: the virtualenv is the
repository's own, node_modules a copy), then times `make run` (the setup steps, migrations, demo
seed with its video transcoded, the job worker and gunicorn) and measures:

* first start: from launching `make run` until the home page answers 200 (redirects followed) and
  the job worker's consumer has started; the moments each step finished (setup, demo seeded,
  worker started, web workers forked) and the CPU of everything started; then a second start of
  the same checkout, timed the same way;
* memory at rest: the sum of PSS (``/proc/PID/smaps_rollup``: shared pages split between the
  processes sharing them) of gunicorn's master, its workers and the job worker, once the job
  worker has finished the seed's jobs; each process's PSS too;
* the job worker's CPU while idle (seconds of CPU per minute), and the statements an idle worker
  sends to the database and to the queue per minute (counted in a process that runs the worker's
  relay and consumer on the same checkout once the servers have stopped);
* the same sums after a scripted walk: a learner signs in, opens the demo video lesson and sends
  heartbeats, a county official opens the skill dashboard, a learner searches (the time of that
  first search is reported: it may load the dictionary).

    .venv/bin/python bench/footprint.py            # full: idle CPU and statements over 60 s
    .venv/bin/python bench/footprint.py --quick    # over 5 s

Writes bench/results/footprint.json. Targets: ≤ 300 MB at rest, ≤ 400 MB after the walk, no web
worker above 120 MB at rest, first start ≤ 15 s, second ≤ 5 s, first search ≤ 2 s, an idle worker
at most one look at a database a second.
"""
from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import stop_group, write_results  # noqa: E402
from lms.demo.cli import DEMO_LEARNER_PHONE, DEMO_PASSWORD, DEMO_PIN  # noqa: E402

LEARNER = (DEMO_LEARNER_PHONE, DEMO_PIN)
OFFICIAL = ("county", DEMO_PASSWORD)
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def process_set(root_pid: int) -> dict[str, list[int]]:
    """gunicorn master, its workers and the job worker under `make run` (not ffmpeg helpers)."""
    found = {"master": [], "web": [], "job": []}
    stack = children(root_pid)
    while stack:
        pid = stack.pop()
        cmd = cmdline(pid)
        if "gunicorn" in cmd:
            found["master"].append(pid)
            found["web"] += [c for c in children(pid) if "gunicorn" in cmdline(c)]
        elif " worker" in cmd and "flask" in cmd:
            found["job"].append(pid)
        else:
            stack += children(pid)  # make, bin/serve
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def pss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    return round(int(re.search(r"^Pss:\s+(\d+) kB", text, re.M).group(1)) / 1024, 1)


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return round(int(re.search(r"^VmRSS:\s+(\d+) kB", text, re.M).group(1)) / 1024, 1)


def memory(root_pid: int) -> dict:
    procs = process_set(root_pid)
    each = {role: [{"pid": p, "pss_mb": pss_mb(p), "rss_mb": rss_mb(p)} for p in pids]
            for role, pids in procs.items()}
    total = sum(p["pss_mb"] for ps in each.values() for p in ps)
    return {"total_pss_mb": round(total, 1), "processes": each,
            "web_worker_max_pss_mb": max((p["pss_mb"] for p in each["web"]), default=None)}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU used so far by bin/serve and everything it started (finished children included): what
    the start costs whatever else the machine is doing."""
    fields = Path(f"/proc/{root_pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[13]) + int(fields[14])) / TICKS  # cutime, cstime: waited-for children
    stack = children(root_pid)
    while stack:
        pid = stack.pop()
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / TICKS
            stack += children(pid)
        except OSError:
            pass
    return round(total, 2)


# Lines of `make run`'s output that mark where the time of a start goes.
MILESTONES = {
    "setup_done_s": "Serving on http",          # bin/serve started: make's setup steps are done
    "seeded_s": "Demo sign-ins",                # the worker migrated and seeded the database
    "worker_started_s": "consumer started",     # ... and started consuming
    "web_forked_s": "Booting worker",           # gunicorn loaded the app and forked its workers
}


def wait_ready(base: str, started: float, proc, log: Path, limit: float = 300) -> dict:
    """Until the home page answers 200 and the job worker runs; the seconds since launch of that
    and of each milestone seen in the output."""
    seen: dict = {}
    answered = None

    def scan():
        text = log.read_text(errors="replace")
        for key, marker in MILESTONES.items():
            if key not in seen and marker in text:
                seen[key] = round(time.perf_counter() - started, 2)

    while time.perf_counter() - started < limit:
        if proc.poll() is not None:
            raise RuntimeError(f"make run exited with {proc.returncode}: {log.read_text()[-2000:]}")
        scan()
        if answered is None:
            try:
                with urllib.request.urlopen(base + "/", timeout=2) as response:  # redirects followed
                    if response.status == 200:
                        answered = round(time.perf_counter() - started, 2)
            except (urllib.error.URLError, OSError):
                pass
        if answered is not None and "worker_started_s" in seen:
            scan()  # a line written while the page was being asked for
            return {"ready_s": max(answered, seen["worker_started_s"]), "home_page_s": answered, **seen}
        time.sleep(0.05)
    raise RuntimeError("not serving after %s s" % limit)


def wait_idle(root_pid: int, quiet: float = 3.0, limit: float = 120) -> float:
    """Until the job worker has used no CPU for ``quiet`` seconds (the seed's transcode and
    index jobs are done); returns the seconds waited."""
    started = time.perf_counter()
    job = process_set(root_pid)["job"][0]
    last, still = cpu_seconds(job), time.perf_counter()
    while time.perf_counter() - started < limit:
        time.sleep(0.5)
        now = cpu_seconds(job)
        if now - last > 0.05:
            last, still = now, time.perf_counter()
        elif time.perf_counter() - still >= quiet:
            break
    return round(time.perf_counter() - started, 1)


def checkout(work: Path) -> Path:
    """A fresh clone of the repository's committed HEAD with the packages installed (untimed):
    the virtualenv linked, node_modules copied, `make packages` (a no-op when their stamps match)."""
    source = (ROOT / "bin" / "serve").resolve().parents[1]  # through the symlinks of a scratch copy
    clone = work / "checkout"
    subprocess.run(["git", "clone", "--quiet", str(source), str(clone)], check=True)
    (clone / ".venv").symlink_to(source / ".venv")
    if (source / "node_modules").is_dir():
        shutil.copytree(source / "node_modules", clone / "node_modules", symlinks=True)
    subprocess.run(["make", "--no-print-directory", "packages"], cwd=clone, check=True,
                   stdout=subprocess.DEVNULL)
    return clone


@contextlib.contextmanager
def timed_run(clone: Path, env: dict, base: str, log: Path, figures: dict, name: str, label: str, target_s: float):
    """``make run`` in the checkout, timed from the command to the first page served: records
    ``<name>_start`` (wait_ready's figures), ``<name>_start_s`` and ``<name>_start_cpu_s`` in
    ``figures``, yields the process, and stops its process group afterwards."""
    started = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=clone, env=env,
                                start_new_session=True, stdout=out, stderr=subprocess.STDOUT)
    try:
        ready = figures[f"{name}_start"] = wait_ready(base, started, proc, log)
        figures[f"{name}_start_s"] = ready["ready_s"]
        figures[f"{name}_start_cpu_s"] = tree_cpu_seconds(proc.pid)
        print(f"{label}: {ready['ready_s']} s (target ≤ {target_s:g} s), CPU {figures[f'{name}_start_cpu_s']} s; "
              f"{ready}")
        yield proc
    finally:
        stop_group(proc)


class Browser:
    """A person's cookies and CSRF token over plain HTTP (no JavaScript needed for this walk)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = ""

    def get(self, path: str) -> str:
        page = self.opener.open(self.base + path, timeout=30).read().decode()
        found = re.search(r'name="csrf-token" content="([^"]+)"', page)
        self.csrf = found.group(1) if found else self.csrf
        return page

    def post_form(self, path: str, fields: dict, *, form_on: str | None = None) -> str:
        page = self.get(form_on or path)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({**fields, "csrf_token": token}).encode()
        return self.opener.open(self.base + path, data, timeout=30).read().decode()

    def post_json(self, path: str, body: dict) -> int:
        request = urllib.request.Request(self.base + path, json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json", "X-CSRFToken": self.csrf})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code


def walk(base: str, beats: int) -> dict:
    timings = {}
    learner = Browser(base)
    learner.post_form("/signin?manual=1", {"identifier": LEARNER[0], "pin": LEARNER[1]})
    learner.get("/")
    started = time.perf_counter()
    page = learner.get("/search?" + urllib.parse.urlencode({"q": "拉面"}))
    timings["first_search_s"] = round(time.perf_counter() - started, 3)
    course = re.search(r'href="(/learn/courses/\d+)"', page)
    lesson = None
    if course:
        learner.post_form(course.group(1) + "/enrol", {}, form_on=course.group(1))
        lesson = re.search(r'href="/learn/lessons/(\d+)"', learner.get(course.group(1)))
    statuses = []
    if lesson:
        lesson_id = int(lesson.group(1))
        learner.get(f"/learn/lessons/{lesson_id}")
        for seq in range(beats):
            # One second of play claimed a second apart (the server refuses claims faster than playback).
            time.sleep(1.0)
            statuses.append(learner.post_json("/api/v1/progress", {
                "lesson": lesson_id, "intervals": [[seq, seq + 1]], "position": seq + 1,
                "client_id": "footprint", "seq": seq}))
    timings["heartbeat_statuses"] = sorted(set(statuses))
    timings["lesson_found"] = bool(lesson)
    official = Browser(base)
    official.post_form("/signin/staff", {"username": OFFICIAL[0], "password": OFFICIAL[1]})
    started = time.perf_counter()
    official.get("/stats/skills")
    timings["dashboard_s"] = round(time.perf_counter() - started, 3)
    return timings


def search_every_worker(base: str, root_pid: int, at_rest: dict, tries: int = 40) -> dict:
    """Searches on fresh connections until every web worker has grown by pypinyin's tables
    (~55 MB; +30 MB over its PSS at rest is taken as the sign) or ``tries`` searches were made."""
    visitor = Browser(base)
    rest = {p["pid"]: p["pss_mb"] for p in at_rest["processes"]["web"]}
    for n in range(tries):
        visitor.get("/search?" + urllib.parse.urlencode({"q": ["电商", "yangzhi", "焊工", "dg"][n % 4]}))
        if all(pss_mb(pid) > mb + 30 for pid, mb in rest.items()):
            break
    result = memory(root_pid)
    result["searches"] = n + 1
    return result


def _who() -> str:
    """The part of the worker the current thread is: the relay, huey's scheduler, or a job."""
    import threading

    name = threading.current_thread().name
    return "relay" if name == "outbox-relay" else "scheduler" if name.startswith("Scheduler") else "jobs"


class _Counted:
    """huey's storage with every call counted (each is a statement or two on the queue)."""

    def __init__(self, storage, counts: dict):
        self._storage, self._counts = storage, counts

    def __getattr__(self, name):
        value = getattr(self._storage, name)
        if not callable(value):
            return value

        def counted(*args, **kwargs):
            key = f"{_who()}:{name}"
            self._counts[key] = self._counts.get(key, 0) + 1
            return value(*args, **kwargs)
        return counted


def count_idle(seconds: float, consumer_factory=None) -> dict:
    """Run in a process of its own on the checkout (``--count-idle``): the relay and the consumer
    exactly as `flask worker` starts them, idle; every statement sent to the database and every
    call on the queue's storage counted, per minute, by the part of the worker that made it (the
    relay's looks, huey's scheduler, the jobs: periodic jobs and the worker threads' looks)."""
    import threading

    from sqlalchemy import event

    from lms.extensions import db
    from lms.queue import huey, relay_forever
    from lms.worker.idle import create_consumer
    from wsgi import app

    database: dict = {}
    queue: dict = {}

    def statement(*args):
        key = _who()
        database[key] = database.get(key, 0) + 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", statement)
        huey.storage = _Counted(huey.storage, queue)
        consumer, wake = (consumer_factory or create_consumer)(2)
        stop = threading.Event()
        started = time.perf_counter()
        threading.Thread(target=relay_forever, args=(app, stop), kwargs={"sent_event": wake}, name="outbox-relay",
                         daemon=True).start()
        consumer.start()
        time.sleep(seconds)
        elapsed = time.perf_counter() - started
        stop.set()
        consumer.stop(graceful=True)

    def per_minute(counts: dict) -> dict:
        return {key: round(value * 60 / elapsed, 1) for key, value in sorted(counts.items())}
    return {"seconds": round(elapsed, 1),
            "database_statements_per_min": round(sum(database.values()) * 60 / elapsed, 1),
            "queue_calls_per_min": round(sum(queue.values()) * 60 / elapsed, 1),
            "database_by_part": per_minute(database), "queue_by_part_and_call": per_minute(queue)}


def idle_statements(clone: Path, seconds: float) -> dict:
    out = subprocess.run([str(clone / ".venv" / "bin" / "python"), "bench/footprint.py", "--count-idle", str(seconds)],
                         cwd=clone, capture_output=True, text=True, timeout=seconds + 120,
                         env={k: v for k, v in os.environ.items() if not k.startswith("LMS_")})
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="idle CPU over 5 s instead of 60 s")
    parser.add_argument("--idle-seconds", type=float, default=None)
    parser.add_argument("--beats", type=int, default=None, help="heartbeats in the walk (default 10; quick 3)")
    parser.add_argument("--keep", help="folder for the checkout, kept afterwards")
    parser.add_argument("--count-idle", type=float, help=argparse.SUPPRESS)  # internal: see count_idle
    args = parser.parse_args(argv)
    if args.count_idle:
        print(json.dumps(count_idle(args.count_idle)))
        return 0
    idle_seconds = args.idle_seconds or (5.0 if args.quick else 60.0)
    beats = args.beats or (3 if args.quick else 10)

    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-footprint-"))
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # The checkout's own instance folder, as `make run` uses on a fresh machine.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env.update(PORT=str(port), ACCESS_LOG="")
    base = f"http://127.0.0.1:{port}"
    figures: dict = {}
    try:
        clone = checkout(work)
        figures["checkout_commit"] = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"],
                                                    capture_output=True, text=True).stdout.strip()
        with timed_run(clone, env, base, work / "first.log", figures, "first",
                       "first start (setup, migrations, demo seed, serving)", 15) as proc:
            figures["settle_s"] = wait_idle(proc.pid)
            procs = process_set(proc.pid)
            figures["web_workers"] = len(procs["web"])
            figures["at_rest"] = memory(proc.pid)
            job = procs["job"][0]
            before, t0 = cpu_seconds(job), time.perf_counter()
            time.sleep(idle_seconds)
            used = cpu_seconds(job) - before
            figures["job_worker_idle"] = {"seconds": idle_seconds,
                                          "cpu_s_per_min": round(used * 60 / (time.perf_counter() - t0), 3)}
            print(f"at rest: {figures['at_rest']['total_pss_mb']} MB PSS (target ≤ 300), largest web worker "
                  f"{figures['at_rest']['web_worker_max_pss_mb']} MB (≤ 120); job worker idle CPU "
                  f"{figures['job_worker_idle']['cpu_s_per_min']} s/min")
            figures["walk"] = walk(base, beats)
            time.sleep(1)
            figures["after_walk"] = memory(proc.pid)
            print(f"walk: {figures['walk']}")
            print(f"after the walk: {figures['after_walk']['total_pss_mb']} MB PSS (target ≤ 400)")
            # The walk's one search reached one web worker; in a day every worker answers some
            # (pinyin tables load in each): searches on fresh connections until every one has.
            figures["after_searches_on_every_worker"] = search_every_worker(base, proc.pid, figures["at_rest"])
            print(f"after searches on every web worker: "
                  f"{figures['after_searches_on_every_worker']['total_pss_mb']} MB PSS")
        with timed_run(clone, env, base, work / "second.log", figures, "second", "second start", 5):
            pass
        figures["idle_worker_looks"] = idle_statements(clone, idle_seconds)
        print(f"idle worker: {figures['idle_worker_looks']}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    figures["targets"] = {"at_rest_mb": 300, "after_walk_mb": 400, "web_worker_at_rest_mb": 120,
                          "first_start_s": 15, "second_start_s": 5, "first_search_s": 2,
                          "idle_worker_database_statements_per_min": 60}
    write_results("footprint", figures, argv=sys.argv, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
