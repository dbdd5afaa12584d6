"""Redis stops during an upload and a publish: people keep signing in, the last chunk and the
publish answer as usual, and the jobs they need (transcode, search index) run once Redis is back,
from the outbox in the database: none lost, none run twice."""
from __future__ import annotations

import signal
import time
from urllib.parse import quote

from tests.production import flows
from tests.production.browser import Browser
from tests.production.cluster import wait_until
from tests.production.conftest import LEARNERS, PASSWORD, PIN

# As long as a Redis restart with a large append-only file can take: everything below happens
# while it is away, and the jobs still run within a minute of its return.
OUTAGE_SECONDS = 30


def test_stopping_redis_during_an_upload_and_a_publish_loses_no_job(cluster, published, tmp_path):
    trainer = Browser(cluster.url)
    assert trainer.sign_in_staff("prod-trainer", PASSWORD).status == 302
    clip = flows.make_clip(tmp_path / "redis.mp4", seconds=4)
    data = clip.read_bytes()
    trainer.get("/media/upload")
    started = flows.start_upload(trainer, len(data), "Redis停机时上传", clip.name)
    assert started.status == 201
    asset, url = started.json()["id"], started.json()["url"]
    half = len(data) // 2
    assert flows.put_chunk(trainer, url, 0, data[:half]).status == 200

    cluster.kill("redis", signal.SIGTERM)
    stopped = time.monotonic()
    try:
        last = flows.put_chunk(trainer, url, half, data[half:])
        assert last.status == 200, last.text[:300]
        assert last.json()["status"] == "queued"
        title = "Redis停机时发布的课程"
        course = flows.publish_course(trainer, cluster, published["asset"], title)
        # Sign-in and pages keep working (lockout counts live in the database).
        person = Browser(cluster.url)
        assert person.sign_in_learner(LEARNERS[7], PIN).status == 302
        assert person.get("/learn").status == 200
        assert trainer.get(f"/teach/courses/{course['course']}").status == 200
        assert flows.asset_status(trainer, asset)["status"] == "queued"  # nothing can run it yet
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
        assert flows.asset_status(trainer, asset)["status"] == "queued"
    finally:
        cluster.start_redis()

    # Within a minute of Redis coming back the jobs have run: the recording is ready, the course found.
    flows.wait_ready(trainer, asset, cluster, timeout=60)

    def searchable():
        answer = person.get("/api/v1/search?q=" + quote(title))
        return answer.status == 200 and [h["course"] for h in answer.json()["hits"]].count(course["course"]) == 1

    wait_until(searchable, 60, "the course published while Redis was down in the search index")
    [(attempts, version)] = cluster.sql("SELECT attempts, version FROM media_assets WHERE id = %s", asset)
    assert (attempts, version) == (1, 1)  # transcoded once
    assert cluster.sql("SELECT count(*) FROM courses WHERE title = %s", title) == [(1,)]
