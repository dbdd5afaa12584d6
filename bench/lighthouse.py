"""Lighthouse scores of the learner home, the catalogue, a lesson and the official's dashboard,
through gunicorn, in Debian's chromium.

Lighthouse is the npm package pinned in package.json's devDependencies (`make node-packages`
installs it in node_modules; LIGHTHOUSE names another binary). Each page is audited signed in (the
session cookie sent as a header) with Lighthouse's default mobile emulation and simulated
throttling; a page's score is the median of its runs.

    .venv/bin/python bench/lighthouse.py            # 3 runs a page; bench/results/lighthouse.json
    .venv/bin/python bench/lighthouse.py --quick    # 1 run a page, 4 s clips; lighthouse.quick.json
    .venv/bin/python bench/lighthouse.py --check    # exit 1 when a score is below its target

Targets: performance >= 0.95, accessibility >= 0.95, best practices = 1.00 on every page.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import pages  # noqa: E402
from bench.common import write_results  # noqa: E402

CATEGORIES = ("performance", "accessibility", "best-practices")
TARGETS = {"performance": 0.95, "accessibility": 0.95, "best-practices": 1.0}
# What Debian's chromium needs to run headless here, and nothing that phones home.
CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-background-networking "
                "--disable-component-update --disable-sync --no-first-run")
OFFICIAL, OFFICIAL_PASSWORD = "county", "bench-password-2"
# A session is bound to its browser's User-Agent (lms/sessions.py): the sign-ins here and Lighthouse's
# emulated phone send the same one.
USER_AGENT = ("Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/130.0.0.0 Mobile Safari/537.36")


def _opener():
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    return jar, opener


def learner_cookie(base: str) -> str:
    jar, opener = _opener()
    page = opener.open(f"{base}/signin?manual=1").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "identifier": pages.PHONE, "pin": pages.PIN}).encode()
    opener.open(f"{base}/signin?manual=1", data)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def add_official() -> None:
    from lms import create_app
    from lms.accounts.services import create_user
    from lms.extensions import db

    app = create_app()
    with app.app_context():
        create_user(username=OFFICIAL, role="official", password=OFFICIAL_PASSWORD, region_code="621123000000",
                    display_name="渭源县扶贫办")
        db.session.commit()


def staff_cookie(base: str) -> str:
    jar, opener = _opener()
    page = opener.open(f"{base}/signin/staff").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "username": OFFICIAL, "password": OFFICIAL_PASSWORD}).encode()
    opener.open(f"{base}/signin/staff", data)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def audit(binary: str, url: str, cookie: str) -> dict:
    out = subprocess.run([binary, url, "--quiet", "--output=json", "--output-path=stdout",
                          "--only-categories=" + ",".join(CATEGORIES), "--locale=zh",
                          f"--emulated-user-agent={USER_AGENT}",
                          f"--extra-headers={json.dumps({'Cookie': cookie})}", f"--chrome-flags={CHROME_FLAGS}"],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", pages.CHROMIUM)})
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"lighthouse failed on {url}: {out.stderr[-1500:]}") from None
    if report.get("runtimeError"):
        raise RuntimeError(f"lighthouse on {url}: {report['runtimeError']}")
    if urllib.parse.urlparse(report.get("finalDisplayedUrl") or report.get("finalUrl", "")).path != \
            urllib.parse.urlparse(url).path:
        raise RuntimeError(f"{url} was not the page audited (redirected to {report.get('finalDisplayedUrl')}): "
                           "the session cookie was not taken")
    scores = {c: report["categories"][c]["score"] for c in CATEGORIES}
    # What cost points: every scored audit below 1 in the three categories.
    failing = sorted({ref["id"] for c in CATEGORIES for ref in report["categories"][c]["auditRefs"]
                      if ref.get("weight") and (report["audits"][ref["id"]].get("score") is not None)
                      and report["audits"][ref["id"]]["score"] < 1})
    metrics = {k: round(report["audits"][k]["numericValue"]) for k in
               ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time") if k in report["audits"]}
    return {"scores": scores, "below_1": failing, "metrics_ms": metrics}


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run a page, 4 s clips; lighthouse.quick.json")
    parser.add_argument("--check", action="store_true", help="exit 1 when a score is below its target")
    parser.add_argument("--runs", type=int, default=None, help="runs a page (default 3, 1 with --quick)")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    binary = os.environ.get("LIGHTHOUSE") or str(ROOT / "node_modules" / ".bin" / "lighthouse")
    if not os.path.exists(binary):
        sys.exit(f"lighthouse is missing ({binary}): run `make node-packages`")
    pages.CLIP_SECONDS = 4 if args.quick else 30
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="bench-lighthouse-"))
    env = {"LMS_INSTANCE_PATH": str(tmp), "LMS_DATABASE_URL": f"sqlite:///{tmp / 'lms.db'}",
           "LMS_MEDIA_ROOT": str(tmp / "media"), "LMS_QUEUE_URL": f"sqlite:///{tmp / 'q.db'}",
           "LMS_SECRET_KEY": "bench-secret", "LMS_DATA_KEY": "bench-data"}
    os.environ.update(env)
    facts = pages.prepare(tmp)
    add_official()
    port = pages.free_port()
    base = f"http://127.0.0.1:{port}"
    proc = pages.start_server(env, port)
    result = {}
    try:
        learner, official = learner_cookie(base), staff_cookie(base)
        targets = {"home": ("/learn", learner), "catalogue": ("/learn/courses", learner),
                   "lesson": (f"/learn/lessons/{facts['lessons'][0]}", learner),
                   "dashboard": ("/stats/skills", official)}
        for name, (path, cookie) in targets.items():
            done = [audit(binary, base + path, cookie) for _ in range(runs)]
            result[name] = {"scores": {c: statistics.median(d["scores"][c] for d in done) for c in CATEGORIES},
                            "below_1": sorted({a for d in done for a in d["below_1"]}),
                            "metrics_ms": done[len(done) // 2]["metrics_ms"], "runs": runs}
            print(name, json.dumps(result[name], ensure_ascii=False), flush=True)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    misses = {f"{name}.{c}": r["scores"][c] for name, r in result.items() for c in CATEGORIES
              if r["scores"][c] < TARGETS[c]}
    result["targets"] = TARGETS
    result["below_target"] = misses
    write_results("lighthouse", result, argv=sys.argv if argv is None else ["bench/lighthouse.py", *argv],
                  quick=args.quick)
    if misses:
        print("below target:", json.dumps(misses), flush=True)
    return 1 if misses and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
