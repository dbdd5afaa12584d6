"""With a real redis-server: Redis stops; a trainer finishes an upload and publishes a course
(both answer as usual); Redis starts again; the relay hands both jobs over and they run."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
from huey.storage import RedisStorage
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from lms.extensions import db
from lms.queue import JobOutbox, huey, relay
from media.models import Asset, AssetStatus
from tests.lms.outbox_flows import make_text_course, upload
from tests.media import clips

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """A throwaway redis-server on a free loopback port, without persistence."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = Redis(port=self.port, socket_connect_timeout=1)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except RedisConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_queue(worker_queue, monkeypatch):
    server = RedisServer()
    server.start()
    monkeypatch.setattr(huey, "storage", RedisStorage("xiangxue", url=f"redis://127.0.0.1:{server.port}"))
    yield server
    server.stop()


@pytest.fixture
def trainer(client, make_user, login):
    user = make_user("trainer", display_name="马师傅")
    login(client, user)
    return user


def test_redis_down_a_finished_upload_and_a_publish_answer_and_their_jobs_run_once_it_is_back(
        client, trainer, redis_queue, worker_queue, tmp_path):
    from search import indexer
    from search.storage import index_root

    clip = clips.make_video(str(tmp_path / "clip.mp4"), size="320x180", seconds=2)
    course = make_text_course(trainer)
    redis_queue.stop()

    done = upload(client, clip)
    assert done.status_code == 200 and done.json["status"] == "queued"
    published = client.post_form(f"/teach/courses/{course.id}/publish", {"published": "1"})
    assert published.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(course), course.id).published
    assert [(j.task, j.args) for j in db.session.scalars(select(JobOutbox).order_by(JobOutbox.id))] == [
        ("media.tasks.transcode_job", [done.json["id"]]), ("search.tasks.index_course", [course.id])]

    with pytest.raises(RedisConnectionError):  # the worker's relay: Redis refuses, nothing is lost
        relay()
    assert [j.dispatched_at for j in db.session.scalars(select(JobOutbox))] == [None, None]

    redis_queue.start()  # empty: no persistence
    assert relay() == 2
    assert Redis(port=redis_queue.port).llen("huey.redis.xiangxue") == 2  # the jobs are in Redis
    assert worker_queue.work() == 2
    db.session.expire_all()
    assert db.session.get(Asset, done.json["id"]).status == AssetStatus.ready
    assert str(course.id) in indexer.indexed_versions(index_root())
    assert db.session.scalars(select(JobOutbox)).all() == []
