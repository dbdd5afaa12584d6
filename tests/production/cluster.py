"""The production layout on loopback: PostgreSQL, Redis, two gunicorn web hosts, a worker, nginx.

Every piece is a real server started as a subprocess in a session of its own, so a fault test can
kill one (web host, worker, Redis) or restart one (PostgreSQL) and ``Cluster.stop`` kills all of
them, whatever happened. The web hosts share the keys, the database, Redis, the media folder and
the search index, and nothing else: each has its own instance folder, as on two machines.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.common import stop_group

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Small enough to fill in a test, large enough for the clips the tests upload and transcode.
MEDIA_VOLUME_MB = 96
# Admin settings the layout starts with: the space kept free on the media volume suits this small
# one (the default, 1 GB, is for real volumes).
SETTINGS = {"media_min_free_mb": 8}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception as exc:  # the server is not up yet
            last = exc
            result = None
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last!r})")


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found: install Debian's postgresql package "
                           "(tests/with_postgres.sh does it as root)")
    return found[-1].parent


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the test process dies, even killed outright."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _as_postgres(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class Cluster:
    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="xiangxue-production-"))
        os.chmod(self.tmp, 0o755)
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.pg_bin = _pg_bin()
        self.pg_dir = self.tmp / "pg"
        self.pg_port, self.redis_port, self.nginx_port = free_port(), free_port(), free_port()
        self.web_ports = {"web1": free_port(), "web2": free_port()}
        self.media = self.tmp / "media"
        self.mounted = False
        self.url = f"http://127.0.0.1:{self.nginx_port}"
        self.database_url = f"postgresql+psycopg://postgres@127.0.0.1:{self.pg_port}/xiangxue"
        self.link_secret = secrets.token_urlsafe(24)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LMS_") and k != "TEST_DATABASE_URL"},
            "LMS_DATABASE_URL": self.database_url,
            "LMS_QUEUE_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "LMS_RATELIMIT_URL": f"redis://127.0.0.1:{self.redis_port}/1",
            "LMS_SECRET_KEY": secrets.token_urlsafe(48),
            "LMS_DATA_KEY": secrets.token_urlsafe(48),
            "LMS_MEDIA_LINK_SECRET": self.link_secret,
            "LMS_MEDIA_ACCEL": "/_media/",
            "LMS_MEDIA_ROOT": str(self.media),
            "LMS_SEARCH_INDEX": str(self.tmp / "search-index"),
            "LMS_TRUSTED_PROXIES": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    # ------------------------------------------------------------ processes

    def _spawn(self, name: str, args: list[str], env: dict | None = None, cwd: Path = REPO) -> subprocess.Popen:
        log = self.tmp / f"{name}.log"
        self.logs[name] = log
        with open(log, "ab") as out:
            proc = subprocess.Popen(args, cwd=cwd, env=env or self.env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent)
        self.procs[name] = proc
        return proc

    def kill(self, name: str, sig=signal.SIGKILL) -> None:
        """Kill a process and everything it started (its session's process group)."""
        proc = self.procs.pop(name, None)
        if proc is not None:
            stop_group(proc, sig, grace=20)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs.get(name)
        if not path or not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def flask(self, *args: str, env: dict | None = None, check: bool = True, timeout: float = 120):
        result = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=REPO, env=env or self.host_env("cli"),
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"flask {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def host_env(self, host: str) -> dict:
        instance = self.tmp / "instance" / host
        instance.mkdir(parents=True, exist_ok=True)
        return {**self.env, "LMS_INSTANCE_PATH": str(instance)}

    # ------------------------------------------------------------ PostgreSQL

    def start_postgres(self) -> None:
        if not (self.pg_dir / "data").exists():
            self.pg_dir.mkdir()
            if os.geteuid() == 0:
                shutil.chown(self.pg_dir, "postgres")
            subprocess.run(_as_postgres([str(self.pg_bin / "initdb"), "-D", str(self.pg_dir / "data"), "-A", "trust",
                                         "-U", "postgres"]), check=True, capture_output=True)
        subprocess.run(_as_postgres([
            str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_dir / "data"), "-l", str(self.pg_dir / "log"), "-w",
            "-o", f"-k {self.pg_dir} -p {self.pg_port} -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c full_page_writes=off -c max_connections=200", "start"]), check=True, capture_output=True)

    def create_database(self) -> None:
        subprocess.run(_as_postgres([str(self.pg_bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.pg_port),
                                     "-U", "postgres", "xiangxue"]), check=True, capture_output=True)

    def stop_postgres(self, mode: str = "fast") -> None:
        subprocess.run(_as_postgres([str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_dir / "data"), "-m", mode,
                                     "-w", "stop"]), capture_output=True)

    def sql(self, statement: str, *params):
        """Read the database as an auditor would: straight from PostgreSQL, no app in between."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.pg_port} user=postgres dbname=xiangxue",
                             autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else cursor.rowcount

    # ------------------------------------------------------------ Redis

    def start_redis(self) -> None:
        redis_dir = self.tmp / "redis"
        redis_dir.mkdir(exist_ok=True)
        # appendonly: a Redis restart keeps the jobs already handed to it (README "Production").
        self._spawn("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "yes", "--dir", str(redis_dir), "--daemonize", "no"])
        wait_until(self._redis_ping, 20, "redis-server")

    def _redis_ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    # ------------------------------------------------------------ media volume

    def mount_media(self) -> None:
        """A small filesystem of its own for the media, so a test can fill it (tmpfs, as root)."""
        self.media.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={MEDIA_VOLUME_MB}m,mode=0755", "tmpfs",
                                 str(self.media)], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError("tests/production mounts a small tmpfs as the shared media volume and needs root "
                               f"for it (mount said: {result.stderr.strip()})")
        self.mounted = True

    # ------------------------------------------------------------ web hosts, worker, nginx

    def _spawn_web(self, host: str) -> None:
        # The README's gunicorn line, one worker per host (two hosts already share two cores here).
        self._spawn(host, [str(BIN / "gunicorn"), "--workers", "1", "--threads", "4", "--keep-alive", "75",
                           "--bind", f"127.0.0.1:{self.web_ports[host]}", "--access-logfile", "-",
                           "--no-control-socket", "--graceful-timeout", "5", "wsgi:app"], env=self.host_env(host))

    def wait_web(self, host: str) -> None:
        wait_until(lambda: self._answers(self.web_ports[host]), 90, f"gunicorn {host}\n{self.log_tail(host)}")

    def start_web(self, host: str) -> None:
        self._spawn_web(host)
        self.wait_web(host)

    def _answers(self, port: int) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/signin", timeout=5).close()
        except urllib.error.HTTPError:
            pass  # any answer from the app means it is up
        return True

    def start_worker(self) -> None:
        self._spawn("worker", [str(BIN / "flask"), "--app", "wsgi", "worker", "--workers", "2"],
                    env=self.host_env("worker"))

    def start_nginx(self) -> None:
        from tests.production import nginx

        conf = nginx.write_config(self)
        self._spawn("nginx", ["nginx", "-p", str(self.tmp / "nginx"), "-c", str(conf), "-g", "daemon off;"])
        wait_until(lambda: self._answers(self.nginx_port), 20, "nginx\n" + self.log_tail("nginx"))

    # ------------------------------------------------------------ the whole layout

    def start(self, accounts: list[dict]) -> dict[str, int]:
        """Start everything; create the regions and ``accounts``; return their ids by username."""
        self.mount_media()
        self.start_postgres()
        self.create_database()
        self.start_redis()
        self.flask("db", "upgrade")
        seeded = subprocess.run([str(BIN / "python"), "-m", "tests.production.seed"], cwd=REPO,
                                env=self.host_env("cli"), capture_output=True, text=True, timeout=120,
                                input=json.dumps({"accounts": accounts, "settings": SETTINGS, "nginx": [
                                    "--server-name", "localhost", "--listen", f"127.0.0.1:{self.nginx_port}",
                                    "--secret-from-env",
                                    *(f"--upstream=127.0.0.1:{port}" for port in self.web_ports.values())]}))
        assert seeded.returncode == 0, seeded.stderr
        seed = json.loads(seeded.stdout.strip().splitlines()[-1])
        self.site_config = seed["nginx"]
        for host in self.web_ports:
            self._spawn_web(host)
        self.start_worker()
        for host in self.web_ports:
            self.wait_web(host)
        self.start_nginx()
        return seed["ids"]

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name)
        self.stop_postgres("immediate")
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.media)], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def access_log(self, host: str) -> str:
        return self.logs[host].read_text(errors="replace")
