"""Streaming benchmark: HLS segment requests per second through the app and through nginx.

Three servers on loopback serve the same published segment of a real transcoded asset:
  nginx     – Debian's nginx-light serving the media folder directly (the reference);
  app       – the app under gunicorn (2 sync workers), signed-in requests, send_file;
  app+accel – nginx in front of the app with LMS_MEDIA_ACCEL: the app checks the session and
              answers X-Accel-Redirect, nginx sends the file;
  nginx+auth – the README's production location: nginx asks the app (/media/auth) whether the
              session cookie is signed in, caches the answer for a minute, and sends the file.
The client (8 keep-alive connections from 2 processes, raw sockets) shares the 2 cores with
the servers, as everything here does. Writes bench/results/stream.json.

    .venv/bin/python bench/stream.py [--seconds 10] [--connections 8]

Targets (issue 4): app ≥ 0.5 × nginx; behind nginx ≥ 0.9 × nginx.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".venv", "bin")
RESULTS = os.path.join(ROOT, "bench", "results")
PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def flask(env, *args) -> str:
    return subprocess.run([os.path.join(BIN, "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                          check=True, capture_output=True, text=True).stdout


def setup(work: str) -> tuple[dict, str, str]:
    env = dict(os.environ, LMS_INSTANCE_PATH=os.path.join(work, "instance"),
               LMS_DATABASE_URL=f"sqlite:///{work}/lms.db", LMS_MEDIA_ROOT=os.path.join(work, "media"),
               LMS_QUEUE_URL=f"sqlite:///{work}/queue.db", LMS_SECRET_KEY="bench-secret",
               LMS_DATA_KEY="bench-data-key")
    env.pop("LMS_MEDIA_ACCEL", None)
    clip = os.path.join(work, "lesson.mp4")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=640x360:rate=30:duration=20", "-f", "lavfi", "-i",
                    "sine=frequency=300:duration=20", "-c:v", "libx264", "-preset", "veryfast",
                    "-c:a", "aac", "-shortest", clip], check=True)
    flask(env, "db", "upgrade")
    flask(env, "users", "create", "--username", "bench", "--role", "trainer", "--password", PASSWORD)
    report = json.loads(flask(env, "media", "ingest", clip, "--title", "bench", "--wait", "--json"))
    playlist = next(r["playlist"] for r in report["renditions"] if r["name"] == "360p")
    segment = os.path.dirname(playlist) + "/seg_00001.m4s"  # a full 6 s segment of the 360p rung
    return env, segment, os.path.join(work, "media")


def sign_in(port: int) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"http://127.0.0.1:{port}/signin/staff").read().decode()
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": "bench", "password": PASSWORD, "csrf_token": token}).encode()
    opener.open(f"http://127.0.0.1:{port}/signin/staff", data=data).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def app_url(segment: str) -> str:
    _assets, asset_id, version, rest = segment.split("/", 3)
    return f"/media/files/{asset_id}/{version}/{rest}"


def _connection_loop(port, path, cookie, until, totals, lock):
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
               f"Accept-Encoding: identity\r\n\r\n").encode()
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    done = received = errors = 0
    sock = None
    while time.monotonic() < until:
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                head += chunk
            header, rest = head.split(b"\r\n\r\n", 1)
            status = int(header.split(b" ", 2)[1])
            length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", header).group(1))
            remaining = length - len(rest)
            while remaining > 0:
                n = sock.recv_into(view, min(remaining, len(buf)))
                if n == 0:
                    raise ConnectionError("closed mid-body")
                remaining -= n
            if status == 200:
                done += 1
                received += length
            else:
                errors += 1
            if re.search(rb"(?i)\r\nconnection: *close", header):
                sock.close()
                sock = None
        except (OSError, ConnectionError):
            errors += 1
            if sock:
                sock.close()
            sock = None
    if sock:
        sock.close()
    with lock:
        totals[0] += done
        totals[1] += received
        totals[2] += errors


def _client_process(port, path, cookie, seconds, threads, queue):
    until = time.monotonic() + seconds
    totals, lock = [0, 0, 0], threading.Lock()
    workers = [threading.Thread(target=_connection_loop, args=(port, path, cookie, until, totals, lock))
               for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put(totals)


def load(port: int, path: str, cookie: str, seconds: float, connections: int) -> dict:
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_client_process,
                                     args=(port, path, cookie, seconds, connections // 2, queue))
             for _ in range(2)]
    started = time.monotonic()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.monotonic() - started
    done, received, errors = (sum(r[i] for r in results) for i in range(3))
    return {"requests": done, "errors": errors, "rps": round(done / elapsed, 1),
            "mb_per_s": round(received / elapsed / 1e6, 1), "seconds": round(elapsed, 2)}


NGINX_CONF = """
{user}
worker_processes auto;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    types {{ video/iso.segment m4s; application/vnd.apple.mpegurl m3u8; video/mp4 mp4; }}
    client_body_temp_path {work}/nginx-body;
    proxy_temp_path {work}/nginx-proxy;
    proxy_cache_path {work}/nginx-auth-cache levels=1 keys_zone=xiangxue_auth:1m max_size=10m inactive=5m;
    server {{
        listen 127.0.0.1:{direct};
        location /assets/ {{ root {media}; add_header Cache-Control "public, max-age=31536000, immutable"; }}
    }}
    server {{
        listen 127.0.0.1:{front};
        location /_media/ {{ internal; alias {media}/; }}
        location ~ ^/media/files/(\\d+)/v(\\d+)/(.+)$ {{
            auth_request /_media_auth;
            alias {media}/assets/$1/v$2/$3;
            add_header Cache-Control "public, max-age=31536000, immutable";
        }}
        location = /_media_auth {{
            internal;
            proxy_pass http://127.0.0.1:{accel_app}/media/auth;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_cache xiangxue_auth;
            proxy_cache_key $cookie_session;
            proxy_cache_valid 200 60s;
            proxy_ignore_headers Cache-Control Expires Set-Cookie;
        }}
        location /accel/ {{
            rewrite ^/accel(/.*)$ $1 break;
            proxy_pass http://127.0.0.1:{accel_app};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
        location / {{
            proxy_pass http://127.0.0.1:{accel_app};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
"""


def gunicorn(env, port):
    return subprocess.Popen([os.path.join(BIN, "gunicorn"), "--workers", "2", "--threads", "4", "--bind", f"127.0.0.1:{port}",
                             "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bench-stream-")
    os.chmod(work, 0o755)
    procs = []
    try:
        env, segment, media = setup(work)
        size = os.path.getsize(os.path.join(media, segment))
        direct, front, app_port, accel_port = (free_port() for _ in range(4))
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as fh:
            fh.write(NGINX_CONF.format(user="user root;" if os.geteuid() == 0 else "", work=work,
                                       media=media, direct=direct, front=front, accel_app=accel_port))
        procs.append(subprocess.Popen(["nginx", "-c", conf, "-p", work], stderr=subprocess.DEVNULL))
        procs.append(gunicorn(env, app_port))
        procs.append(gunicorn(dict(env, LMS_MEDIA_ACCEL="/_media/"), accel_port))
        for port in (direct, front, app_port, accel_port):
            wait_port(port)
        cookie = sign_in(app_port)
        targets = {
            "nginx": (direct, "/" + segment, ""),
            "app": (app_port, app_url(segment), cookie),
            "app+accel": (front, "/accel" + app_url(segment), cookie),
            "nginx+auth": (front, app_url(segment), cookie),
        }
        results = {}
        for name, (port, path, jar) in targets.items():
            load(port, path, jar, 1.0, args.connections)  # warm-up
            results[name] = load(port, path, jar, args.seconds, args.connections)
            assert results[name]["errors"] == 0 and results[name]["requests"] > 0, (name, results[name])
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)
    nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    report = {
        "segment_bytes": size, "connections": args.connections, "cpus": os.cpu_count(), "load_average_at_end": os.getloadavg(),
        "nginx": nginx_version + " (Debian nginx-light)", "gunicorn_workers": 2, "results": results,
        "ratio_app": round(results["app"]["rps"] / results["nginx"]["rps"], 3),
        "ratio_accel": round(results["app+accel"]["rps"] / results["nginx"]["rps"], 3),
        "ratio_nginx_auth": round(results["nginx+auth"]["rps"] / results["nginx"]["rps"], 3),
    }
    print(f"load average at the end: {os.getloadavg()} (other processes share these cores)")
    print(f"segment {size} bytes, {args.connections} connections, {report['nginx']}")
    for name, r in results.items():
        print(f"  {name:>10}: {r['rps']:8.1f} req/s  {r['mb_per_s']:7.1f} MB/s  ({r['requests']} requests)")
    print(f"  ratio app/nginx {report['ratio_app']}  (target ≥ 0.5); "
          f"app+accel/nginx {report['ratio_accel']}, nginx+auth/nginx {report['ratio_nginx_auth']} "
          f"(target ≥ 0.9)")
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "stream.json"), "w") as fh:
        json.dump(report, fh, indent=2)


if __name__ == "__main__":
    sys.exit(main())
