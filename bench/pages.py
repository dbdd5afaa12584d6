"""Learner page weight and time to first video frame, through gunicorn, in Debian's chromium.

* Bytes transferred (compressed, headers included) for the learner home, the catalogue and a
  lesson page: first visit with an empty cache and repeat visit. Video and the hls.js player
  script are counted separately (the budget excludes them).
* Time from navigation to the first decoded video frame on the lesson page with the network
  throttled to 400 kbps / 200 ms RTT: a first visit straight to the lesson (empty cache and
  storage), and a lesson reached from the home page, whose idle prefetch cached the player script.
* With LIGHTHOUSE=path/to/lighthouse: Lighthouse 12 performance and accessibility scores of the
  three pages (default mobile throttling), against the same server.

    .venv/bin/python bench/pages.py            # writes bench/results/pages.json (~2 min)
    .venv/bin/python bench/pages.py --quick    # 4 s clips (pages.quick.json)

Targets: first visit <= 60 KB, repeat <= 15 KB (home, catalogue), first frame <= 3 s,
Lighthouse >= 0.95.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_results  # noqa: E402
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
VILLAGE = "621123100201"
CLIP_SECONDS = 30
PHONE, PIN = "13800000009", "246810"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_clip(path: Path, seconds: int = 30) -> None:
    # Camera-like motion and a tone: what a trainer's phone recording transcodes like.
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=640x360:rate=25:duration={seconds}", "-f", "lavfi", "-i",
                    f"sine=frequency=300:duration={seconds}", "-c:v", "libx264", "-preset", "veryfast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)], check=True)


def prepare(tmp: Path) -> dict:
    """Schema, catalogue, 12 courses over the skills, two transcoded video lessons, a learner."""
    from courses import services
    from courses.models import Programme, Skill
    from lms import create_app
    from lms.accounts.services import create_user
    from lms.extensions import db
    from media.services import ingest_file

    app = create_app()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        from importlib.resources import files

        from lms.regions.services import import_regions

        import_regions(files("lms.regions").joinpath("data/demo_regions.csv").read_text(encoding="utf-8"))
        trainer = create_user(username="trainer", role="trainer", password="bench-password-1", display_name="王老师")
        create_user(username=PHONE, role="learner", password=PIN, region_code=VILLAGE, display_name="李梅")
        services.seed_catalogue()
        programme = db.session.scalar(db.select(Programme).limit(1))
        clip = tmp / "clip.mp4"
        make_clip(clip, CLIP_SECONDS)
        assets = [ingest_file(str(clip), f"clip {i}", owner=trainer, wait=True) for i in range(2)]
        assert all(a.status.value == "ready" for a in assets), [a.error_message for a in assets]
        skills = list(db.session.scalars(db.select(Skill).where(Skill.parent_id.is_(None))))
        lesson_ids = []
        for i in range(12):
            skill = skills[i % len(skills)]
            course = services.save_course(trainer, None, title=f"{skill.name}实用技术第{i + 1}讲",
                                          summary="从基础到实操，一看就会。", programme_id=programme.id, skill_id=skill.id)
            for n in range(3):
                if i < 2 and n == 0:
                    lesson = services.add_lesson(trainer, course, title=f"第{n + 1}课 视频", kind="video",
                                                 asset_id=assets[i].id)
                    lesson_ids.append(lesson.id)
                else:
                    services.add_lesson(trainer, course, title=f"第{n + 1}课 要点", kind="text", body="要点说明。" * 20)
            services.publish(trainer, course)
        db.session.commit()
        return {"lessons": lesson_ids}


def start_server(env: dict, port: int):
    proc = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", "wsgi:app"], cwd=ROOT, env={**os.environ, **env},
                            start_new_session=True)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def session_cookie(base: str) -> str:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/signin?manual=1").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "identifier": PHONE, "pin": PIN}).encode()
    opener.open(f"{base}/signin?manual=1", data)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def signed_in_page(p, base: str, cookie: str):
    """A fresh chromium at 1024×600 in which the learner has signed in through the form (a session
    made by another client is not taken over by this one), with a CDP session watching the
    network: (browser, page, cdp)."""
    browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    context = browser.new_context(viewport={"width": 1024, "height": 600})
    page = context.new_page()
    page.goto(f"{base}/signin?manual=1", wait_until="load")
    page.fill('input[name="identifier"]', PHONE)
    page.fill('input[name="pin"]', PIN)
    with page.expect_navigation():
        page.locator('form:has(input[name="pin"]) [type="submit"]').first.click()
    if "/signin" in page.url:
        raise RuntimeError(f"chromium could not sign in: {page.url}")
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    forget(page, cdp)
    return browser, page, cdp


def forget(page, cdp) -> None:
    """A terminal's first visit: the sign-in filled the cache (style sheet, scripts, and the home
    page's prefetch of the player script) and local storage (which remembers that prefetch).
    Empty both; the session cookie stays."""
    cdp.send("Network.clearBrowserCache")
    page.evaluate("() => window.localStorage.clear()")


def measure_bytes(base: str, cookie: str, paths: dict) -> dict:
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as p:
        browser, page, cdp = signed_in_page(p, base, cookie)
        urls, sizes = {}, []
        cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
        # A <link rel=prefetch> is announced by its response only.
        cdp.on("Network.responseReceived", lambda e: urls.setdefault(e["requestId"], e["response"]["url"]))
        cdp.on("Network.loadingFinished", lambda e: sizes.append((urls.get(e["requestId"], ""), e["encodedDataLength"])))

        def visit(path):
            sizes.clear()
            page.goto(base + path, wait_until="load")
            page.wait_for_timeout(300)
            total = sum(n for u, n in sizes if "/media/" not in u and "/vendor/" not in u)
            video = sum(n for u, n in sizes if "/media/" in u)
            player = sum(n for u, n in sizes if "/vendor/" in u)
            return {"bytes": total, "video_bytes": video, "player_script_bytes": player,
                    "requests": len(sizes)}

        for name, path in paths.items():
            out[name] = {"repeat": None}
            out[name]["first"] = visit(path)
            out[name]["repeat"] = visit(path)
            # Next page's first visit starts from an empty cache again.
            forget(page, cdp)
        browser.close()
    return out


def first_frame(base: str, cookie: str, lessons: list[int]) -> dict:
    """Navigation start → first decoded frame on a lesson page, throttled to 400 kbps / 200 ms.

    * ``cold_cache_s``: a terminal's very first visit, straight to the lesson (empty cache, nothing
      in local storage): the player starts with the progressive MP4 while hls.js is not cached.
    * ``player_cached_s``: the learner came by the home page first, which fetched the player
      script while idle (waited for here); the lesson then plays through hls.js from the cache.

    ``*_source`` says what played the first frame: ``hls.js`` (MSE) or ``mp4`` (progressive).
    """
    from playwright.sync_api import sync_playwright

    probe = """() => new Promise((resolve) => {
        const v = document.getElementById('player');
        const done = () => resolve([performance.now(), v.currentSrc.startsWith('blob:') ? 'hls.js' : 'mp4']);
        if ('requestVideoFrameCallback' in v) { v.requestVideoFrameCallback(done); }
        else { v.addEventListener('playing', done, {once: true}); }
        v.play();
    })"""
    result = {}
    with sync_playwright() as p:
        browser, page, cdp = signed_in_page(p, base, cookie)
        # 400 kbps each way, 200 ms round trip.
        cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 200,
                                                       "downloadThroughput": 400_000 / 8,
                                                       "uploadThroughput": 400_000 / 8})
        for label, lesson in (("cold_cache_s", lessons[0]), ("player_cached_s", lessons[1])):
            forget(page, cdp)
            if label == "player_cached_s":
                # Browse the home page until its idle prefetch of the player script is done (a
                # different lesson's asset, so no video is cached).
                page.goto(f"{base}/learn", wait_until="load")
                page.wait_for_function("() => !!window.localStorage.getItem('xx.hls')", timeout=60_000)
            page.goto(f"{base}/learn/lessons/{lesson}", wait_until="domcontentloaded")
            if not page.evaluate("() => !!document.getElementById('player')"):
                raise RuntimeError(f"{label}: no player at {page.url}: {page.content()[:3000]}")
            ms, source = page.evaluate(probe)
            result[label] = round(ms / 1000, 2)
            result[label.replace("_s", "_source")] = source
        browser.close()
    return result


def lighthouse(base: str, cookie: str, paths: dict) -> dict:
    binary = os.environ.get("LIGHTHOUSE")
    if not binary:
        return {}
    scores = {}
    for name, path in paths.items():
        out = subprocess.run([binary, base + path, "--quiet", "--output=json", "--output-path=stdout",
                              "--only-categories=performance,accessibility",
                              f"--extra-headers={json.dumps({'Cookie': cookie})}",
                              "--chrome-flags=--headless=new " + " ".join(ARGS)],
                             capture_output=True, text=True, env={**os.environ, "CHROME_PATH": CHROMIUM},
                             timeout=300)
        try:
            report = json.loads(out.stdout)
        except json.JSONDecodeError:
            scores[name] = {"error": out.stderr[-500:]}
            continue
        scores[name] = {c: report["categories"][c]["score"] for c in ("performance", "accessibility")}
        scores[name]["failed_audits"] = [
            a for a, v in report["audits"].items()
            if v.get("score") is not None and v["score"] < 0.9 and v.get("scoreDisplayMode") in ("binary", "numeric")
        ][:12]
    return scores


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 s clips; results to pages.quick.json")
    parser.add_argument("--clip-seconds", type=int, default=None, help="length of the two video lessons (default 30)")
    args = parser.parse_args(argv)
    global CLIP_SECONDS
    CLIP_SECONDS = args.clip_seconds or (4 if args.quick else 30)
    # A timeout's SIGTERM must still stop the server (it runs in its own session).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    env = {"LMS_INSTANCE_PATH": str(tmp), "LMS_DATABASE_URL": f"sqlite:///{tmp / 'lms.db'}",
           "LMS_MEDIA_ROOT": str(tmp / "media"), "LMS_QUEUE_URL": f"sqlite:///{tmp / 'q.db'}",
           "LMS_SECRET_KEY": "bench-secret", "LMS_DATA_KEY": "bench-data"}
    os.environ.update(env)
    facts = prepare(tmp)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(env, port)
    try:
        cookie = session_cookie(base)
        paths = {"home": "/learn", "catalogue": "/learn/courses", "lesson": f"/learn/lessons/{facts['lessons'][0]}"}
        result = {"pages": measure_bytes(base, cookie, paths),
                  "first_frame_400kbps_200ms": first_frame(base, cookie, facts["lessons"]),
                  "lighthouse": lighthouse(base, cookie, paths)}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    write_results("pages", result, argv=sys.argv if argv is None else ["bench/pages.py", *argv], quick=args.quick)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
