"""What people do, step by step, over HTTP through nginx: a trainer's chunked upload and course,
a learner's lesson page and heartbeats. Each step asserts what the person would see."""
from __future__ import annotations

import hashlib
import re
import http.client
import time
from pathlib import Path

from tests.production.cluster import wait_until

# Small chunks: even a small clip goes up in several, as a long video does over 3G.
CHUNK = 64 * 1024


def make_clip(path: Path, seconds: float = 6) -> Path:
    from tests.media import clips

    clips.make_video(str(path), size="320x180", seconds=seconds, rate=15)
    return path


def start_upload(browser, size: int, title: str, filename: str = "clip.mp4"):
    return browser.post_json("/media/api/uploads", {"title": title, "filename": filename, "size": size})


def put_chunk(browser, url: str, offset: int, data: bytes):
    return browser.request("PUT", url, data, {
        "Content-Type": "application/octet-stream", "Upload-Offset": str(offset),
        "Chunk-SHA256": hashlib.sha256(data).hexdigest(), "X-CSRFToken": browser.csrf or ""})


def upload(browser, clip: Path, title: str, chunk: int = CHUNK) -> int:
    data = clip.read_bytes()
    browser.get("/media/upload")
    started = start_upload(browser, len(data), title, clip.name)
    assert started.status == 201, started.text[:500]
    url = started.json()["url"]
    for offset in range(0, len(data), chunk):
        answer = put_chunk(browser, url, offset, data[offset:offset + chunk])
        assert answer.status == 200, answer.text[:500]
        assert answer.json()["offset"] == min(offset + chunk, len(data))
    assert answer.json()["status"] in ("queued", "transcoding", "ready")
    return started.json()["id"]


def asset_status(browser, asset: int) -> dict:
    answer = browser.get(f"/media/api/status?ids={asset}")
    assert answer.status == 200, answer.text[:300]
    return answer.json()["assets"][0]


def wait_ready(browser, asset: int, cluster, timeout: float = 120) -> None:
    def ready():
        status = asset_status(browser, asset)
        assert status["status"] != "failed", status
        return status["status"] == "ready"

    wait_until(ready, timeout, f"the transcode of asset {asset}\n{cluster.log_tail('worker')}", interval=0.5)


def publish_course(browser, cluster, asset: int, title: str) -> dict:
    [(programme,)] = cluster.sql("SELECT id FROM programmes WHERE code = 'yulu-short'")
    [(skill,)] = cluster.sql("SELECT id FROM skills WHERE code = 'cooking.lamian'")
    browser.get("/teach/courses/new")
    saved = browser.post_form("/teach/courses/new", {"title": title, "summary": "手工拉面的和面与拉制",
                                                     "programme": programme, "skill": skill, "regions": ""})
    assert saved.status == 302, saved.text[:500]
    course = int(re.search(r"/teach/courses/(\d+)", saved.header("Location")).group(1))
    added = browser.post_form(f"/teach/courses/{course}/lessons",
                              {"title": "和面", "kind": "video", "asset": asset, "required": "1"})
    assert added.status == 302
    [(lesson,)] = cluster.sql("SELECT id FROM lessons WHERE course_id = %s", course)
    published = browser.post_form(f"/teach/courses/{course}/publish", {"published": "1"})
    assert published.status == 302 and published.header("Location").endswith(f"/teach/courses/{course}")
    assert cluster.sql("SELECT published FROM courses WHERE id = %s", course) == [(True,)]
    [(duration,)] = cluster.sql("SELECT duration FROM media_assets WHERE id = %s", asset)
    return {"course": course, "lesson": lesson, "asset": asset, "title": title, "duration": duration}


def open_lesson(browser, lesson: int):
    page = browser.get(f"/learn/lessons/{lesson}")
    assert page.status == 200, page.text[:500]
    return page


def heartbeat(browser, lesson: int, client_id: str, seq: int, start: float, end: float, timeout: float = 30):
    return browser.post_json("/api/v1/progress", {"lesson": lesson, "intervals": [[start, end]], "position": end,
                                                  "client_id": client_id, "seq": seq}, timeout=timeout)


def send_until_answered(browser, lesson, client_id, seq, start, end, give_up: float = 60):
    """The player's queue: keep a heartbeat until the server answers it (200), in order."""
    deadline = time.monotonic() + give_up
    failures = []
    while True:
        try:
            answer = heartbeat(browser, lesson, client_id, seq, start, end, timeout=10)
            if answer.status == 200:
                return answer, failures
            failures.append(answer.status)
        except (OSError, http.client.HTTPException) as exc:
            # The connection dropped, or closed in the middle of an answer (a host killed while
            # nginx relayed it): the queue keeps the heartbeat, as the player's does.
            failures.append(type(exc).__name__)
        assert time.monotonic() < deadline, f"heartbeat {seq} never answered: {failures[-5:]}"
        time.sleep(0.2)
