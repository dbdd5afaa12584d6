"""The transcoding job: a killed worker, retries with backoff, adoption of a published version."""
import os
import signal
import subprocess
import sys
import time

import pytest

from lms.audit.models import AuditEntry
from lms.db import utcnow
from media import services, storage
from media.models import Asset, AssetStatus, Rendition
from media.tasks import transcode_job

from . import clips

WORKER = """
import sys
from lms import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "MEDIA_ROOT": sys.argv[2], "TESTING": True,
                  "SECRET_KEY": "x", "DATA_KEY": "y"})
with app.app_context():
    from media.services import run_transcode
    run_transcode(int(sys.argv[3]), lease_seconds=2)
"""


@pytest.fixture
def queued(app, db, monkeypatch):
    """An asset probed and queued, with no worker message sent (as if the message was lost)."""
    monkeypatch.setattr(services, "_queue_transcode", lambda asset_id: None)

    def make(path, title="课"):
        asset = services.ingest_file(path, title)
        db.session.commit()
        assert asset.status == AssetStatus.queued
        return asset

    return make


def folders(app, asset_id):
    folder = storage.asset_dir(str(app.config["MEDIA_ROOT"]), asset_id)
    return sorted(e.name for e in os.scandir(folder) if e.is_dir())


def test_killed_worker_is_picked_up_again_and_publishes_exactly_once(app, db, queued, tmp_path):
    clip = clips.make_video(str(tmp_path / "long.mp4"), size="640x360", seconds=20)
    asset = queued(clip)
    worker = subprocess.Popen([sys.executable, "-c", WORKER, app.config["SQLALCHEMY_DATABASE_URI"],
                               str(app.config["MEDIA_ROOT"]), str(asset.id)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        db.session.expire_all()
        row = db.session.get(Asset, asset.id)
        if row.progress > 0:
            break
        assert worker.poll() is None, worker.stderr.read().decode()
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    worker.stderr.close()

    db.session.expire_all()
    row = db.session.get(Asset, asset.id)
    assert row.status == AssetStatus.transcoding and 0 < row.progress < 100 and row.attempts == 1
    work = [f for f in folders(app, asset.id) if f.startswith(".work-")]
    assert len(work) == 1 and "v1" not in folders(app, asset.id)
    # The worker's ffmpeg died with it (no orphan still writing into the work folder).
    work_dir = os.path.join(storage.asset_dir(str(app.config["MEDIA_ROOT"]), asset.id), work[0])
    sizes = lambda: sorted((p, os.path.getsize(os.path.join(b, p))) for b, _, fs in os.walk(work_dir) for p in fs)
    before = sizes()
    time.sleep(0.5)
    assert sizes() == before

    # Nothing is handed out while the dead worker's lease runs; then the sweep requeues it.
    assert services.recover_stale() == []
    while utcnow() <= row.lease_expires_at:
        time.sleep(0.1)
    assert services.recover_stale() == [asset.id]  # the queue runs at once in tests

    db.session.expire_all()
    row = db.session.get(Asset, asset.id)
    assert row.status == AssetStatus.ready and row.attempts == 2 and row.progress == 100
    assert folders(app, asset.id) == ["v1"]
    renditions = db.session.scalars(db.select(Rendition).where(Rendition.asset_id == asset.id)).all()
    assert [r.name for r in renditions] == ["144p", "240p", "360p", "audio"]
    ids = [r.id for r in renditions]

    # A duplicate message (the original one, delivered late) changes nothing.
    assert transcode_job(asset.id).get() == "skipped"
    db.session.expire_all()
    assert folders(app, asset.id) == ["v1"]
    assert [r.id for r in db.session.scalars(db.select(Rendition).where(Rendition.asset_id == asset.id))] == ids


def test_a_live_job_is_not_taken_twice(app, db, queued, short_clip):
    asset = queued(short_clip)
    db.session.execute(db.update(Asset).where(Asset.id == asset.id).values(
        status=AssetStatus.transcoding, lease_token="other", lease_expires_at=utcnow().replace(year=2100)))
    db.session.commit()
    assert services.run_transcode(asset.id) == "skipped"
    assert services.recover_stale() == []


def test_version_published_before_a_crash_is_adopted_not_redone(app, db, queued, short_clip):
    asset = queued(short_clip)
    assert services.run_transcode(asset.id) == "ready"
    root = str(app.config["MEDIA_ROOT"])
    master = os.path.join(storage.version_dir(root, asset.id, 1), "master.m3u8")
    inode = os.stat(master).st_ino
    # The worker died after its rename and before its commit: the row still says transcoding.
    db.session.execute(db.delete(Rendition).where(Rendition.asset_id == asset.id))
    db.session.execute(db.update(Asset).where(Asset.id == asset.id).values(
        status=AssetStatus.transcoding, lease_token="dead", lease_expires_at=utcnow()))
    db.session.commit()
    assert services.recover_stale() == [asset.id]
    db.session.expire_all()
    row = db.session.get(Asset, asset.id)
    assert row.status == AssetStatus.ready and [r.name for r in row.renditions] == ["144p", "audio"]
    assert os.stat(master).st_ino == inode and folders(app, asset.id) == ["v1"]


def test_failures_retry_with_backoff_then_fail_with_a_message(app, db, queued, short_clip, tmp_path,
                                                             client, make_user, login, monkeypatch):
    trainer = make_user("trainer")
    asset = queued(short_clip)
    db.session.execute(db.update(Asset).where(Asset.id == asset.id).values(owner_id=trainer.id))
    db.session.commit()
    broken = tmp_path / "ffmpeg"
    broken.write_text("#!/bin/sh\necho 'simulated encoder crash' >&2\nexit 3\n")
    broken.chmod(0o755)
    delays = []
    app.config["FFMPEG"] = str(broken)
    try:
        outcomes = [services.run_transcode(asset.id, schedule_retry=lambda i, d: delays.append(d))
                    for _ in range(3)]
    finally:
        app.config["FFMPEG"] = "ffmpeg"
    assert outcomes == ["retry", "retry", "failed"] and delays == [30, 60]
    db.session.expire_all()
    row = db.session.get(Asset, asset.id)
    assert row.status == AssetStatus.failed and row.attempts == 3
    assert "录像转换失败" in row.error_message
    assert "simulated encoder crash" in row.error_detail
    assert not [f for f in folders(app, asset.id) if f.startswith(".work-")]

    # The trainer sees why and retries; the retry (queued for real now) publishes a new version.
    monkeypatch.undo()
    login(client, trainer)
    page = client.get(f"/media/{asset.id}").get_data(as_text=True)
    assert "录像转换失败" in page and "simulated encoder crash" not in page
    assert client.post_form(f"/media/{asset.id}/retry").status_code == 302
    db.session.expire_all()
    row = db.session.get(Asset, asset.id)
    assert row.status == AssetStatus.ready and row.version == 2 and folders(app, asset.id) == ["v2"]
    assert db.session.scalars(db.select(AuditEntry.action).where(AuditEntry.target == f"Asset:{asset.id}")
                              .order_by(AuditEntry.id)).all() == ["media.ingest", "media.retry"]


def test_ingest_wait_does_not_commit_for_the_caller(app, db, landscape_clip):
    """Course packages roll back a failed import: the inline transcode only flushes."""
    asset = services.ingest_file(landscape_clip, "包里的课", wait=True)
    assert asset.status == AssetStatus.ready and [r.name for r in asset.renditions] == \
        ["144p", "240p", "360p", "audio"]
    asset_id = asset.id
    db.session.rollback()
    assert db.session.get(Asset, asset_id) is None
