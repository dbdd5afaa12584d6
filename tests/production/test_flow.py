"""The production layout end to end, through nginx: sign-in on both web hosts, a chunked upload the
worker transcodes, publish, search, the lesson page with every script and a segment through its
signed link, heartbeats to completion, and the official's statistics."""
from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from tests.production import flows
from tests.production.browser import Browser
from tests.production.cluster import wait_until
from tests.production.conftest import LEARNERS, PASSWORD, PIN, learner


def _requests_to(cluster, host: str, pattern: str) -> int:
    return len(re.findall(pattern, cluster.access_log(host)))


def test_everyone_signs_in_on_both_web_hosts(cluster):
    # nginx's round robin is per nginx worker process and shares the hosts with the cluster's
    # health checks, so which host answers a given post is not fixed: people keep signing in
    # (some opening the home page first, which shifts the rotation) until each host has
    # answered a learner's and a staff member's sign-in.
    browsers = []
    kinds = {"learner": r'"POST /signin HTTP/1\.\d" 302', "staff": r'"POST /signin/staff HTTP/1\.\d" 302'}

    def missing() -> list[tuple[str, str]]:
        return [(host, kind) for host in cluster.web_ports for kind, pattern in kinds.items()
                if _requests_to(cluster, host, pattern) == 0]

    for n in range(16):
        if not missing() and n >= 4:
            break
        person = Browser(cluster.url, agent=f"xiangxue-production-test {n}")
        if n % 3 == 1:
            assert person.get("/").status == 302
        if n % 2 == 0:
            answer = person.sign_in_learner(LEARNERS[n // 2 % 4], PIN)
        else:
            answer = person.sign_in_staff("prod-trainer", PASSWORD)
        assert answer.status == 302, answer.text[:300]
        browsers.append(person)
    assert not missing(), missing()
    # Every signed-in person stays signed in whichever host answers next.
    for browser in browsers:
        for _ in range(2):
            home = browser.get("/")
            assert home.status in (200, 302)
            assert "/signin" not in (home.header("Location") or "")
    # A wrong PIN is refused with the Chinese message, through nginx.
    wrong = Browser(cluster.url)
    wrong.get("/signin")
    refused = wrong.post_form("/signin", {"identifier": LEARNERS[7], "pin": "999999"})
    assert refused.status == 401 and "身份证号/手机号或密码不正确。" in refused.text


def _scripts(page: str) -> list[str]:
    found = re.findall(r'<script[^>]+src="([^"]+)"', page)
    found += re.findall(r'<link[^>]+rel="preload"[^>]+href="([^"]+)"[^>]+as="script"', page)
    found += re.findall(r'data-hls-src="([^"]+)"', page)
    return sorted(set(s.replace("&amp;", "&") for s in found))


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_trainer_publishes_and_learner_completes_the_lesson(cluster, published, official):
    # The worker transcoded the upload into the shared media volume.
    [(status, version)] = cluster.sql("SELECT status, version FROM media_assets WHERE id = %s", published["asset"])
    assert status == "ready"
    assert (cluster.media / "assets" / str(published["asset"]) / f"v{version}" / "master.m3u8").exists()

    reader = learner(cluster, 0)
    # Search: the worker indexed the published course; both hosts read the shared index.
    def found():
        answer = reader.get("/api/v1/search?q=" + quote("牛肉拉面"))
        assert answer.status == 200
        hits = [h["course"] for h in answer.json()["hits"]]
        return published["course"] in hits and answer.header("X-Search-Fallback") is None

    # Round robin sends two requests in a row to both hosts (mostly): both must find it.
    wait_until(lambda: found() and found(), 30, "the published course in the search index of both hosts")

    page = flows.open_lesson(reader, published["lesson"]).text
    scripts = _scripts(page)
    assert any("player.js" in s for s in scripts) and any("hls" in s for s in scripts), scripts
    before = {host: cluster.access_log(host) for host in cluster.web_ports}
    for script in scripts:
        answer = reader.get(_path(script))
        assert answer.status == 200, script
        assert "javascript" in answer.header("Content-Type", ""), script
        assert len(answer.body) > 100
    # nginx served the scripts itself from the static folders; no web host saw them.
    for host in cluster.web_ports:
        new = cluster.access_log(host)[len(before[host]):]
        assert "/static/" not in new, new

    master_url = re.search(r'data-master="([^"]+)"', page).group(1).replace("&amp;", "&")
    master = reader.get(_path(master_url))
    assert master.status == 200 and "#EXTM3U" in master.text
    variant = next(line for line in master.text.splitlines() if line.endswith(".m3u8"))
    variant_url = master_url.rsplit("/", 1)[0] + "/" + variant
    playlist = reader.get(_path(variant_url))
    assert playlist.status == 200, playlist.text[:300]
    signed = re.findall(r'(/media/s/[^"\s]+)', playlist.text)
    segments = [s for s in signed if s.endswith(".m4s")]
    assert signed and segments, playlist.text
    anonymous = Browser(cluster.url)  # the token is the permission: no cookie needed
    for link in (signed[0], segments[0]):
        answer = anonymous.get(link)
        assert answer.status == 200 and len(answer.body) > 0, link
        assert answer.header("Cache-Control") == "public, max-age=31536000, immutable"
    forged = re.sub(r"/media/s/(\d+)-[A-Za-z0-9_-]{22}/", r"/media/s/\1-AAAAAAAAAAAAAAAAAAAAAA/", segments[0])
    assert anonymous.get(forged).status == 403
    for host in cluster.web_ports:
        assert "/media/s/" not in cluster.access_log(host)[len(before[host]):]

    # Heartbeats to completion, alternating hosts.
    duration = published["duration"]
    first, _ = flows.send_until_answered(reader, published["lesson"], "flow-tab", 1, 0, duration / 2)
    assert first.json()["completed"] is False
    last, _ = flows.send_until_answered(reader, published["lesson"], "flow-tab", 2, duration / 2, duration)
    assert last.json()["completed"] is True
    user = cluster.learner_ids[LEARNERS[0]]
    [(watched, completed_at)] = cluster.sql(
        "SELECT watched_seconds, completed_at FROM progress WHERE user_id = %s AND lesson_id = %s",
        user, published["lesson"])
    assert abs(watched - duration) < 0.05 and completed_at is not None
    assert cluster.sql("SELECT count(*) FROM heartbeats WHERE user_id = %s AND client_id = 'flow-tab'", user) == [(2,)]

    # The county official sees the completion in the course statistics, and the skill-goal API.
    [(completions,)] = cluster.sql("SELECT count(completed_at) FROM enrolments WHERE course_id = %s",
                                   published["course"])
    stats = official.get("/stats/courses")
    assert stats.status == 200
    row = re.search(re.escape(published["title"]) + r'</td><td class="num">(\d+)</td><td class="num">(\d+)</td>',
                    stats.text)
    assert row and int(row.group(2)) == completions >= 1
    api = official.get("/api/v1/stats/skills?region=621123000000")
    assert api.status == 200 and api.json()["name"] == "渭源县"
