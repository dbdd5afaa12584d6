"""What every benchmark records next to its figures, so a number can be checked against its run.

    from bench.common import write_results    # each bench puts the repository on sys.path
    ...
    write_results("search", figures, argv=sys.argv, database_url=url, quick=args.quick)

writes ``bench/results/<name>.json`` as ``{"meta": {...}, "figures": {...}}``. The meta block holds
the git commit (and whether the tree had uncommitted changes), the command line, the CPU count, the
load average when the bench started (this module's import) and when it wrote its results, the
versions of Python, SQLite, ffmpeg, PostgreSQL and nginx (the last two when the bench used them),
and the date. A ``--quick`` run writes ``<name>.quick.json`` (not committed), so a smoke run never
overwrites the evidence the README quotes. ``LMS_BENCH_RESULTS`` points the output elsewhere (the
test of the benches uses a temporary folder).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Taken when the bench imports this module, i.e. before it starts loading or measuring.
STARTED_AT = dt.datetime.now(dt.timezone.utc)
LOAD_AT_START = [round(x, 2) for x in os.getloadavg()]
_STARTED = time.monotonic()


def stop_group(proc: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 30) -> None:
    """Stop a process started with ``start_new_session=True`` and everything it started: ``sig`` to
    its process group, then SIGKILL to the group if it has not exited within ``grace`` seconds.

    Used by bench/footprint.py (``make run`` and its workers) and tests/production/cluster.py (the
    servers of the production layout)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass  # the group is gone; wait() still reaps the leader
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def results_dir() -> Path:
    return Path(os.environ.get("LMS_BENCH_RESULTS") or ROOT / "bench" / "results")


def _run(*cmd: str) -> str:
    """First line a tool prints about itself (some write it to stderr), or '' when it is absent."""
    if not shutil.which(cmd[0]):
        return ""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else ""


def git_state() -> dict:
    commit = _run("git", "-C", str(ROOT), "rev-parse", "HEAD")
    # "dirty": uncommitted changes to what a bench runs. Results it is about to rewrite, the
    # documentation and the tests do not count.
    status = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no",
                             "--", ".", ":(exclude)bench/results", ":(exclude)*.md", ":(exclude)tests"],
                            capture_output=True, text=True).stdout if commit else ""
    return {"commit": commit or None, "dirty": bool(status.strip()) if commit else None}


def postgres_version(database_url: str) -> str | None:
    """The server's own version (what ran the queries), not the client library's."""
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(database_url)
        try:
            with engine.connect() as conn:
                return conn.execute(text("SHOW server_version")).scalar()
        finally:
            engine.dispose()
    except Exception as exc:  # the figures still count; say why the version is missing
        return f"unknown ({type(exc).__name__})"


def versions(*, database_url: str | None = None, nginx: bool = False, extra: dict | None = None) -> dict:
    found = {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "ffmpeg": (re.match(r"ffmpeg version (\S+)", _run("ffmpeg", "-version")) or [None, None])[1],
    }
    if database_url and database_url.startswith("postgresql"):
        found["postgresql"] = postgres_version(database_url)
    if nginx:
        found["nginx"] = (re.search(r"nginx/(\S+)", _run("nginx", "-v")) or [None, None])[1]
    found.update(extra or {})
    return found


def command_line(argv: list[str]) -> str:
    """The command as one would type it in the repository (no path of the machine that ran it)."""
    words = ["python"]
    for word in argv:
        path = Path(word)
        if path.is_absolute() and path.resolve().is_relative_to(ROOT):
            word = path.resolve().relative_to(ROOT).as_posix()
        words.append(word)
    return shlex.join(words)


# The code measured is the code when the bench started (edits made during a long run do not count).
GIT_AT_START = git_state()


def metadata(argv=None, *, database_url: str | None = None, nginx: bool = False,
             extra_versions: dict | None = None, quick: bool = False, database: str | None = None) -> dict:
    argv = list(sys.argv if argv is None else argv)
    return {
        **GIT_AT_START,
        "command": command_line(argv),
        "quick": quick,
        "cpu_count": os.cpu_count(),
        "load_average_start": LOAD_AT_START,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "started": STARTED_AT.isoformat(timespec="seconds"),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": round(time.monotonic() - _STARTED, 1),
        "database": database or ("postgresql" if database_url and database_url.startswith("postgresql") else "sqlite"),
        "versions": versions(database_url=database_url, nginx=nginx, extra=extra_versions),
    }


def write_results(name: str, figures: dict, *, argv=None, database_url: str | None = None,
                  nginx: bool = False, extra_versions: dict | None = None, quick: bool = False,
                  database: str | None = None) -> Path:
    """Write the figures with their metadata; returns the file written. ``database`` names the
    databases of a bench that ran on several ("sqlite+postgresql")."""
    out = results_dir()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}{'.quick' if quick else ''}.json"
    document = {"meta": metadata(argv, database_url=database_url, nginx=nginx,
                                 extra_versions=extra_versions, quick=quick, database=database),
                "figures": figures}
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries of the machine (Debian's layout), or None."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda b: int(b.parent.name))
    return bins[-1] if bins and (bins[-1] / "initdb").exists() else None


@contextlib.contextmanager
def throwaway_postgres(name: str = "bench"):
    """A PostgreSQL cluster in a temporary folder (the recipe of tests/with_postgres.sh and
    bench/progress.py) with the server's durable defaults (fsync and synchronous_commit on, as in
    production). Yields its URL and its data folder (postmaster.pid names the server's process);
    stopped and removed afterwards."""
    import socket
    import tempfile

    pg = postgres_bin()
    if pg is None:
        raise RuntimeError("PostgreSQL server binaries not found: install Debian's postgresql package.")
    folder = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_pg:
        shutil.chown(folder, "postgres")
    quiet = {"stdout": subprocess.DEVNULL, "check": True}
    try:
        subprocess.run([*as_pg, pg / "initdb", "-D", folder / "data", "-A", "trust", "-U", "postgres"], **quiet)
        subprocess.run([*as_pg, pg / "pg_ctl", "-D", folder / "data", "-l", folder / "log", "-w", "-o",
                        f"-k {folder} -p {port} -c listen_addresses=127.0.0.1", "start"], **quiet)
        subprocess.run([*as_pg, pg / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", name], **quiet)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}", folder / "data"
    finally:
        subprocess.run([*as_pg, pg / "pg_ctl", "-D", folder / "data", "-m", "fast", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)
