"""Streaming benchmark: HLS segment requests per second through the app and through nginx.

Every server below answers the same published 6 s segment of the 360p rung of a real transcoded
asset (about 300 KB), to the same client: 8 keep-alive connections (HTTP/1.1, raw sockets, from 2
client processes) on loopback, each run the same number of seconds, the servers in turn, repeated
for --rounds rounds (figures are the median over rounds). Servers:

  nginx         Debian's nginx-light 1.22 (`worker_processes auto`, sendfile) serving the media
                folder directly: the reference.
  nginx+signed  the README's production layout (LMS_MEDIA_ACCEL set): nginx checks the signed
                segment link itself (ngx_http_secure_link_module, the README's exact location)
                and sends the file; the app only wrote the link into the variant playlist.
  app           the app alone under gunicorn (2 workers, worker class gthread with 4 threads,
                keep-alive): the signed link is checked by the app's WSGI fast path
                (media.fastpath: one MD5, a stat, sendfile through gunicorn's file_wrapper).
  ceiling       gunicorn, same worker class and counts, serving the same file from a trivial WSGI
                app doing no checks at all: the most any app under gunicorn can do here.
  app+accel     nginx in front of the app, every segment asked of the app (its fast path answers
                X-Accel-Redirect, nginx sends the file): the layout without signed links.
  app/session   the session-checked Flask route (/media/files/…) serving the segment: the old way.

Besides requests per second, the CPU time the server processes (nginx master and workers,
gunicorn master and workers, from /proc) spent per request is reported: on a machine shared with
other work it moves far less than wall-clock throughput. The load average is printed with every
run. Before measuring, the bench checks that nginx and the app refuse a forged, an expired and
another asset's link, the link used on another rung, a playlist or the poster, and a traversal.
Writes bench/results/stream.json.

    .venv/bin/python bench/stream.py [--seconds 8] [--connections 8] [--rounds 2]
    .venv/bin/python bench/stream.py --quick    # 1 s per path, 2 connections, 1 round: a smoke run

Target: behind nginx (the production layout) signed links at ≥ 0.9 × nginx serving the folder.
The app serving segments itself is reported as a ratio to the do-nothing WSGI ceiling under the
same gunicorn: on 2 cores no Python app reaches half of nginx, so that is the figure that judges it.
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
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run as a script from anywhere: the media locations come from the app
from bench.common import write_results  # noqa: E402
from media.nginx import media_locations  # noqa: E402

BIN = os.path.join(ROOT, ".venv", "bin")
RESULTS = os.path.join(ROOT, "bench", "results")
PASSWORD = "bench-password-1"
# One browser for the sign-in and every request after it: the session is bound to the address and
# browser it was made from (Flask-Login's strong session protection).
USER_AGENT = "xiangxue-bench-stream"
LINK_SECRET = "bench-link-secret-0123456789"
WORKERS, THREADS = 2, 4
CLK_TCK = os.sysconf("SC_CLK_TCK")

NGINX_CONF = r"""
@USER@
worker_processes auto;
daemon off;
pid @WORK@/nginx.pid;
error_log @WORK@/nginx-error.log;
events { worker_connections 256; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    types { video/iso.segment m4s; application/vnd.apple.mpegurl m3u8; video/mp4 mp4; }
    client_body_temp_path @WORK@/nginx-body;
    proxy_temp_path @WORK@/nginx-proxy;
    server {
        listen 127.0.0.1:@DIRECT@;
        location /assets/ { root @MEDIA@; add_header Cache-Control "public, max-age=31536000, immutable"; }
    }
    server {
        listen 127.0.0.1:@FRONT@;
@MEDIA_LOCATIONS@
        location /ask-app/ {                       # bench only: hand a signed link to the app
            rewrite ^/ask-app(/.*)$ $1 break;
            proxy_pass http://127.0.0.1:@ACCEL_APP@;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }
        location / {
            proxy_pass http://127.0.0.1:@ACCEL_APP@;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }
    }
}
"""

# No checks at all: the file through gunicorn's file_wrapper (sendfile), nothing else.
CEILING_APP = """
import os

PATH = os.environ["CEILING_FILE"]
SIZE = str(os.path.getsize(PATH))


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "video/iso.segment"), ("Content-Length", SIZE)])
    return environ["wsgi.file_wrapper"](open(PATH, "rb"), 262144)
"""


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


def setup(work: str) -> tuple[dict, dict, str]:
    env = dict(os.environ, LMS_INSTANCE_PATH=os.path.join(work, "instance"),
               LMS_DATABASE_URL=f"sqlite:///{work}/lms.db", LMS_MEDIA_ROOT=os.path.join(work, "media"),
               LMS_QUEUE_URL=f"sqlite:///{work}/queue.db", LMS_SECRET_KEY="bench-secret",
               LMS_DATA_KEY="bench-data-key", LMS_MEDIA_LINK_SECRET=LINK_SECRET)
    env.pop("LMS_MEDIA_ACCEL", None)
    clip = os.path.join(work, "lesson.mp4")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=640x360:rate=30:duration=20", "-f", "lavfi", "-i",
                    "sine=frequency=300:duration=20", "-c:v", "libx264", "-preset", "veryfast",
                    "-c:a", "aac", "-shortest", clip], check=True)
    flask(env, "db", "upgrade")
    # An admin may watch every asset (the CLI's ingest has no owner).
    flask(env, "users", "create", "--username", "bench", "--role", "admin", "--password", PASSWORD)
    report = json.loads(flask(env, "media", "ingest", clip, "--title", "bench", "--wait", "--json"))
    return env, report, os.path.join(work, "media")


def sign_in(port: int):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"http://127.0.0.1:{port}/signin/staff").read().decode()
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": "bench", "password": PASSWORD, "csrf_token": token}).encode()
    opener.open(f"http://127.0.0.1:{port}/signin/staff", data=data).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar), opener


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def status_of(port: int, path: str) -> int:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(f"http://127.0.0.1:{port}{path}") as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _connection_loop(port, path, cookie, until, totals, lock):
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
               f"User-Agent: {USER_AGENT}\r\nAccept-Encoding: identity\r\n\r\n").encode()
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


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds (user + system) of these processes and all their descendants, from /proc."""
    parent, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    wanted, changed = set(roots), True
    while changed:
        changed = False
        for pid, ppid in parent.items():
            if ppid in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    return sum(cpu.get(pid, 0.0) for pid in wanted)


def gunicorn(env, port, app="wsgi:app", chdir=ROOT):
    return subprocess.Popen([os.path.join(BIN, "gunicorn"), "--workers", str(WORKERS), "--worker-class", "gthread",
                             "--threads", str(THREADS), "--keep-alive", "5", "--bind", f"127.0.0.1:{port}",
                             "--log-level", "warning", "--chdir", chdir, app], cwd=chdir, env=env,
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
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="1 s per path, 2 connections, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.connections, args.rounds = 1, 2, 1
    work = tempfile.mkdtemp(prefix="bench-stream-")
    os.chmod(work, 0o755)
    procs, loads = {}, []
    try:
        env, report, media = setup(work)
        variant = next(r["playlist"] for r in report["renditions"] if r["name"] == "360p")
        segment = os.path.dirname(variant) + "/seg_00001.m4s"  # a full 6 s segment of the 360p rung
        size = os.path.getsize(os.path.join(media, segment))
        direct, front, app_port, accel_port, ceiling_port = (free_port() for _ in range(5))
        conf = os.path.join(work, "nginx.conf")
        # The README's production media locations, from their one source (media/nginx.py).
        locations = "".join("    " + line if line else line
                            for line in media_locations(media, LINK_SECRET).splitlines(True))
        text = NGINX_CONF.replace("@MEDIA_LOCATIONS@\n", locations)
        for key, value in {"@USER@": "user root;" if os.geteuid() == 0 else "", "@WORK@": work,
                           "@MEDIA@": media, "@SECRET@": LINK_SECRET, "@DIRECT@": str(direct),
                           "@FRONT@": str(front), "@ACCEL_APP@": str(accel_port)}.items():
            text = text.replace(key, value)
        with open(conf, "w") as fh:
            fh.write(text)
        with open(os.path.join(work, "ceiling_app.py"), "w") as fh:
            fh.write(CEILING_APP)
        procs["nginx"] = subprocess.Popen(["nginx", "-c", conf, "-p", work], stderr=subprocess.DEVNULL)
        procs["app"] = gunicorn(env, app_port)
        procs["accel"] = gunicorn(dict(env, LMS_MEDIA_ACCEL="/_media/"), accel_port)
        procs["ceiling"] = gunicorn(dict(env, CEILING_FILE=os.path.join(media, segment)), ceiling_port,
                                    "ceiling_app:app", work)
        for port in (direct, front, app_port, accel_port, ceiling_port):
            wait_port(port)
        # The real flow: sign in through nginx, read the 360p variant playlist, take its signed link.
        cookie, opener = sign_in(front)
        _assets, asset_id, version, rung_playlist = variant.split("/", 3)
        playlist = opener.open(f"http://127.0.0.1:{front}/media/files/{asset_id}/{version}/{rung_playlist}").read()
        signed = next(line for line in playlist.decode().splitlines() if line.endswith("/seg_00001.m4s"))
        # nginx and the app refuse what they must refuse, before anything is measured.
        expires, tok, rest = re.match(r"^/media/s/(\d+)-([\w-]+)/\d+/v\d+/(.+)$", signed).groups()
        # Change a middle character: the last base64url one carries 2 unused bits, so changing it
        # may decode to the very same digest.
        middle = len(tok) // 2
        forged = tok[:middle] + ("A" if tok[middle] != "A" else "B") + tok[middle + 1:]
        checks = {
            "valid": (signed, (200,)),
            "forged": (f"/media/s/{expires}-{forged}/{asset_id}/{version}/{rest}", (403,)),
            "expired": (f"/media/s/1000000000-{tok}/{asset_id}/{version}/{rest}", (403,)),
            "other asset": (f"/media/s/{expires}-{tok}/{int(asset_id) + 1}/{version}/{rest}", (403,)),
            "traversal": (f"/media/s/{expires}-{tok}/{asset_id}/{version}/%2e%2e/%2e%2e/source.mp4", (403, 404)),
            # The token covers one rung's init and segments: not another rung, a playlist, the poster.
            "another rung": (f"/media/s/{expires}-{tok}/{asset_id}/{version}/144p/seg_00001.m4s", (403,)),
            "playlist": (f"/media/s/{expires}-{tok}/{asset_id}/{version}/360p/index.m3u8", (404,)),
            "poster": (f"/media/s/{expires}-{tok}/{asset_id}/{version}/poster.jpg", (404,)),
            "no session": (f"/media/files/{asset_id}/{version}/{rest}", (404,)),
        }
        for server, port in (("nginx", front), ("app", app_port)):
            for what, (path, wanted) in checks.items():
                got = status_of(port, path)
                assert got in wanted, (server, what, path, got)
        targets = {
            "nginx": (direct, "/" + segment, "", ["nginx"]),
            "nginx+signed": (front, signed, "", ["nginx", "accel"]),
            "app": (app_port, signed, "", ["app"]),
            "ceiling": (ceiling_port, "/", "", ["ceiling"]),
            "app+accel": (front, "/ask-app" + signed, "", ["nginx", "accel"]),
            "app/session": (app_port, f"/media/files/{asset_id}/{version}/{rest}", cookie, ["app"]),
        }
        for name, (port, path, jar, _owners) in targets.items():
            load(port, path, jar, 1.0, args.connections)  # warm-up
        for round_no in range(args.rounds):
            for name, (port, path, jar, owners) in targets.items():
                roots = [procs[o].pid for o in owners]
                cpu_before = tree_cpu(roots)
                result = load(port, path, jar, args.seconds, args.connections)
                spent = tree_cpu(roots) - cpu_before
                result["server_cpu_us_per_request"] = round(spent / max(result["requests"], 1) * 1e6)
                result["load_average"] = [round(x, 2) for x in os.getloadavg()]
                result["round"] = round_no + 1
                assert result["errors"] == 0 and result["requests"] > 0, (name, result)
                loads.append((name, result))
    finally:
        for proc in procs.values():
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)
    nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    results = {}
    for name in targets:
        runs = [r for n, r in loads if n == name]
        results[name] = {"rps": round(statistics.median(r["rps"] for r in runs), 1),
                         "server_cpu_us_per_request": round(statistics.median(
                             r["server_cpu_us_per_request"] for r in runs)),
                         "runs": runs}
    rps = {name: r["rps"] for name, r in results.items()}
    cpu = {name: max(r["server_cpu_us_per_request"], 1) for name, r in results.items()}
    ratios = {
        "app/nginx": round(rps["app"] / rps["nginx"], 3),
        "nginx+signed/nginx": round(rps["nginx+signed"] / rps["nginx"], 3),
        "app+accel/nginx": round(rps["app+accel"] / rps["nginx"], 3),
        "app/session/nginx": round(rps["app/session"] / rps["nginx"], 3),
        "app/ceiling": round(rps["app"] / rps["ceiling"], 3),
        "ceiling/nginx": round(rps["ceiling"] / rps["nginx"], 3),
    }
    # The same ratios from server CPU time per request (less CPU per request = more requests).
    cpu_ratios = {
        "app/nginx": round(cpu["nginx"] / cpu["app"], 3),
        "nginx+signed/nginx": round(cpu["nginx"] / cpu["nginx+signed"], 3),
        "app/ceiling": round(cpu["ceiling"] / cpu["app"], 3),
        "ceiling/nginx": round(cpu["nginx"] / cpu["ceiling"], 3),
    }
    report = {
        "segment_bytes": size, "connections": args.connections, "seconds": args.seconds, "rounds": args.rounds,
        "cpus": os.cpu_count(), "load_average_at_end": os.getloadavg(),
        "nginx": nginx_version + " (Debian nginx-light)",
        "gunicorn": f"{WORKERS} workers, gthread, {THREADS} threads each, keep-alive",
        "results": results, "ratios": ratios, "cpu_ratios": cpu_ratios,
    }
    print(f"segment {size} bytes, {args.connections} keep-alive connections, {args.rounds} rounds × "
          f"{args.seconds:g} s; {report['nginx']}; gunicorn {report['gunicorn']}")
    for name, r in results.items():
        runs = ", ".join(f"{x['rps']:.0f} (load {x['load_average'][0]:.2f})" for x in r["runs"])
        print(f"  {name:>12}: {r['rps']:8.1f} req/s  {r['server_cpu_us_per_request']:6d} µs server CPU/request"
              f"   runs: {runs}")
    print(f"  app/nginx {ratios['app/nginx']} (by CPU/request {cpu_ratios['app/nginx']}); judged against the "
          f"ceiling below")
    print(f"  nginx+signed/nginx {ratios['nginx+signed/nginx']} (target ≥ 0.9; by CPU/request "
          f"{cpu_ratios['nginx+signed/nginx']}); app+accel/nginx {ratios['app+accel/nginx']}; "
          f"app/session/nginx {ratios['app/session/nginx']}")
    print(f"  ceiling (no-check WSGI app, same gunicorn) / nginx {ratios['ceiling/nginx']} (by CPU/request "
          f"{cpu_ratios['ceiling/nginx']}); app / ceiling {ratios['app/ceiling']} (by CPU/request "
          f"{cpu_ratios['app/ceiling']})")
    print(f"load average at the end: {os.getloadavg()} (other processes share these cores)")
    write_results("stream", report, argv=sys.argv, nginx=True, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
