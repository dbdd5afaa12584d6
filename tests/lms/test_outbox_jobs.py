"""Every job a request needs is written to the outbox in the request's transaction: the finished
upload's transcode, a publish's index job, a transcode retry, a search rebuild asked for by a reader.
(The household import's job: tests/lms/households/test_import_queue.py.) With Redis away, the
same requests answer as usual: tests/lms/test_outbox_redis.py."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from lms.extensions import db
from lms.queue import JobOutbox
from media.models import Asset, AssetStatus
from tests.lms.outbox_flows import make_text_course, upload
from tests.media import clips


def jobs():
    db.session.expire_all()
    return [(row.task, row.args) for row in db.session.scalars(select(JobOutbox).order_by(JobOutbox.id))]


@pytest.fixture
def trainer(client, make_user, login):
    user = make_user("trainer", display_name="马师傅")
    login(client, user)
    return user


def test_the_last_upload_chunk_writes_the_transcode_job(client, trainer, worker_queue, tmp_path):
    clip = clips.make_video(str(tmp_path / "clip.mp4"), size="320x180", seconds=2)
    done = upload(client, clip)
    assert done.status_code == 200 and done.json["status"] == "queued"
    asset_id = done.json["id"]
    assert jobs() == [("media.tasks.transcode_job", [asset_id])] and worker_queue.messages() == []
    assert worker_queue.relay() == 1 and worker_queue.work() == 1
    db.session.expire_all()
    assert db.session.get(Asset, asset_id).status == AssetStatus.ready and jobs() == []


def test_a_refused_chunk_writes_no_job(client, trainer, worker_queue):
    created = client.post_json("/media/api/uploads", {"title": "坏", "filename": "x.mp4", "size": 4})
    bad = client.put(created.json["url"], data=b"abcd", headers={
        "Upload-Offset": "0", "Content-Type": "application/octet-stream",
        "Chunk-SHA256": hashlib.sha256(b"wxyz").hexdigest(), "X-CSRFToken": client.csrf_token()})
    assert bad.status_code == 422 and jobs() == []


def test_publishing_and_unpublishing_write_the_index_jobs(client, trainer, worker_queue):
    from search import indexer
    from search.storage import index_root

    course = make_text_course(trainer)
    assert jobs() == []
    r = client.post_form(f"/teach/courses/{course.id}/publish", {"published": "1"})
    assert r.status_code == 302
    assert jobs() == [("search.tasks.index_course", [course.id])] and worker_queue.messages() == []
    assert worker_queue.relay() == 1 and worker_queue.work() == 1
    assert str(course.id) in indexer.indexed_versions(index_root()) and jobs() == []

    assert client.post_form(f"/teach/courses/{course.id}/publish", {"published": "0"}).status_code == 302
    assert jobs() == [("search.tasks.remove_course", [course.id])]
    worker_queue.relay(), worker_queue.work()
    assert str(course.id) not in indexer.indexed_versions(index_root())


def test_a_failed_transcode_queues_its_retry_with_the_asset_back_in_queued(app, worker_queue, tmp_path):
    from media import services

    clip = clips.make_video(str(tmp_path / "clip.mp4"), size="320x180", seconds=2)
    asset = services.ingest_file(clip, "课")
    db.session.commit()
    broken = tmp_path / "ffmpeg"
    broken.write_text("#!/bin/sh\necho 'simulated encoder crash' >&2\nexit 3\n")
    broken.chmod(0o755)
    app.config["FFMPEG"], ffmpeg = str(broken), app.config["FFMPEG"]
    try:
        assert worker_queue.relay() == 1 and worker_queue.work() == 1
    finally:
        app.config["FFMPEG"] = ffmpeg
    db.session.expire_all()
    assert db.session.get(Asset, asset.id).status == AssetStatus.queued
    [row] = db.session.scalars(select(JobOutbox)).all()
    # the retry waits in the outbox for its backoff (30 s), not in the queue
    assert (row.task, row.args, row.dispatched_at) == ("media.tasks.transcode_job", [asset.id], None)
    assert (row.available_at - row.created_at).total_seconds() >= 29
    assert worker_queue.relay() == 0 and worker_queue.messages() == []


def test_a_reader_finding_the_index_missing_queues_a_rebuild(client, make_user, login, worker_queue):
    import shutil

    from search.storage import index_root

    shutil.rmtree(index_root(), ignore_errors=True)
    login(client, make_user("learner"))
    answer = client.get("/api/v1/search?q=拉面")
    # A read answers from the database and commits nothing of its own: the rebuild's row is
    # written on a connection of its own.
    assert answer.status_code == 200 and answer.headers.get("X-Search-Fallback") == "1"
    assert jobs() == [("search.tasks.rebuild_index", [])] and worker_queue.messages() == []
    assert worker_queue.relay() == 1 and worker_queue.work() == 1 and jobs() == []
    assert "X-Search-Fallback" not in client.get("/api/v1/search?q=拉面").headers
