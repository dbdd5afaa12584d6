"""A full media disk (issue 17, item 6): uploads refused up front with the size missing, ENOSPC
during a piece or a conversion turned into a clear message, partial files freed at once, admins
alerted (a persistent row, audited), and media.storage.disk_status() for /healthz."""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections import namedtuple

import pytest
from sqlalchemy import func, select

from lms.audit.models import AuditEntry
from media import services, storage
from media.models import Asset, AssetStatus, StorageAlert

Usage = namedtuple("Usage", "total used free")
GB = 1024 ** 3


def disk(monkeypatch, free: int, total: int = 100 * GB):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(total, total - free, free))


def put(client, url, offset, chunk):
    return client.put(url, data=chunk, headers={
        "Upload-Offset": str(offset), "Content-Type": "application/octet-stream",
        "Chunk-SHA256": hashlib.sha256(chunk).hexdigest(), "X-CSRFToken": client.csrf_token()})


@pytest.fixture
def trainer(client, make_user, login):
    user = make_user("trainer")
    login(client, user)
    return user


def count(model) -> int:
    return services.db.session.scalar(select(func.count()).select_from(model))


def test_disk_status_for_healthz(app, monkeypatch):
    disk(monkeypatch, free=50 * GB)
    status = storage.disk_status()
    assert status == {"free": 50 * GB, "total": 100 * GB, "reserve": 1024 ** 3, "ok": True}
    disk(monkeypatch, free=100 * 1024 ** 2)  # below the 1 GB kept free
    assert storage.disk_status()["ok"] is False


def test_an_upload_that_cannot_fit_is_refused_up_front_naming_the_size(client, trainer, monkeypatch):
    # 2 GB file: needs 2 GB + 2 GB for its conversion + 1 GB kept free = 5 GB; 3.8 GB free.
    disk(monkeypatch, free=int(3.8 * GB))
    response = client.post_json("/media/api/uploads", {"title": "大文件", "filename": "a.mp4", "size": 2 * GB})
    assert response.status_code == 507
    assert response.json["message"] == "服务器存储空间不足：还需要 1.2 GB，请联系管理员。"
    assert response.json["retry"] is False
    assert count(Asset) == 0
    uploads = os.path.join(str(client.application.config["MEDIA_ROOT"]), "uploads")
    assert not os.path.isdir(uploads) or not os.listdir(uploads)  # no part file was made
    alert = services.db.session.scalar(select(StorageAlert))
    assert alert.kind == "upload_refused" and alert.user_id == trainer.id and alert.resolved_at is None
    assert alert.needed == int(5 * GB - int(3.8 * GB))
    assert services.db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "media.storage_alert"))


def test_running_out_during_a_piece_fails_the_upload_and_frees_its_part(app, client, trainer, monkeypatch):
    disk(monkeypatch, free=50 * GB)
    data = os.urandom(3000)
    created = client.post_json("/media/api/uploads", {"title": "课", "filename": "a.mp4", "size": len(data)})
    url, asset_id = created.json["url"], created.json["id"]
    assert put(client, url, 0, data[:1000]).status_code == 200
    part = storage.upload_path(str(app.config["MEDIA_ROOT"]), asset_id)
    assert os.path.getsize(part) == 1000

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(services.os, "fsync", full)
    response = put(client, url, 1000, data[1000:2000])
    assert response.status_code == 507 and response.json["retry"] is False
    assert "服务器存储空间不足" in response.json["message"] and "已删除" in response.json["message"]
    assert not os.path.exists(part)  # freed at once, not after 48 hours
    services.db.session.expire_all()
    asset = services.db.session.get(Asset, asset_id)
    assert asset.status == AssetStatus.failed and asset.error_message == "服务器存储空间不足，请联系管理员。"
    alert = services.db.session.scalar(select(StorageAlert))
    assert alert.kind == "upload" and alert.asset_id == asset_id and alert.user_id == trainer.id
    # The uploader's next piece is refused as finished-with (no endless retries, no 500).
    monkeypatch.undo()
    again = put(client, url, 1000, data[1000:2000])
    assert again.status_code == 409


def _queued(app, monkeypatch, short_clip):
    monkeypatch.setattr(services, "_enqueue_after_commit", lambda asset_id: None)
    asset = services.ingest_file(short_clip, "课")
    services.db.session.commit()
    assert asset.status == AssetStatus.queued
    return asset


def test_running_out_during_a_conversion(app, monkeypatch, short_clip):
    from media import ladder
    from media.ffmpeg import FFmpegError

    asset = _queued(app, monkeypatch, short_clip)
    written = []

    def transcode(src, out_dir, plan, **kwargs):
        with open(os.path.join(out_dir, "partial.m4s"), "wb") as fh:
            fh.write(b"\0" * 4096)
        written.append(out_dir)
        raise FFmpegError("failed", "ffmpeg failed", "[hls] write error: No space left on device")

    monkeypatch.setattr(ladder, "transcode", transcode)
    assert services.run_transcode(asset.id) == "no_space"
    assert written and not os.path.exists(written[0])  # partial outputs removed at once
    services.db.session.expire_all()
    row = services.db.session.get(Asset, asset.id)
    assert row.status == AssetStatus.failed and row.error_message == "服务器存储空间不足，请联系管理员。"
    assert services.can_retry(row)  # once space is back, the trainer presses Retry
    alert = services.db.session.scalar(select(StorageAlert))
    assert alert.kind == "transcode" and alert.asset_id == asset.id


def test_a_conversion_that_cannot_fit_does_not_start(app, monkeypatch, short_clip):
    from media import ladder

    asset = _queued(app, monkeypatch, short_clip)
    started = []
    monkeypatch.setattr(ladder, "transcode", lambda *a, **k: started.append(1))
    disk(monkeypatch, free=1024 ** 3 + 1024)  # just the reserve: no room for the ladder
    assert services.run_transcode(asset.id) == "no_space"
    assert not started
    assert services.db.session.scalar(select(StorageAlert.kind)) == "transcode"


def test_admins_see_the_alerts_and_mark_them_handled(app, client, make_user, login, monkeypatch):
    disk(monkeypatch, free=int(1.5 * GB))
    trainer_client = login(app.test_client(), make_user("trainer"))
    assert trainer_client.post_json("/media/api/uploads", {"title": "x", "filename": "a.mp4",
                                                           "size": GB}).status_code == 507
    assert trainer_client.get("/media/alerts").status_code in (403, 404)
    admin = make_user("admin")
    login(client, admin)
    page = client.get("/media/alerts").get_data(as_text=True)
    assert "上传被拒绝：空间不足" in page and "剩余空间已低于保留值" not in page
    assert "存储空间警报" in client.get("/admin/users").get_data(as_text=True)  # in the admin's menu
    alert_id = services.db.session.scalar(select(StorageAlert.id))
    assert client.post_form("/media/alerts/resolve", {"alert": str(alert_id)}).status_code == 303
    services.db.session.expire_all()
    alert = services.db.session.get(StorageAlert, alert_id)
    assert alert.resolved_at is not None and alert.resolved_by_id == admin.id
    assert services.db.session.scalar(select(AuditEntry.actor_id).where(
        AuditEntry.action == "media.storage_alert_resolved")) == admin.id
    assert "没有待处理的存储空间警报" in client.get("/media/alerts").get_data(as_text=True)


def test_the_uploader_stops_retrying_when_the_server_is_out_of_space():
    """upload.js treats 507 (or retry: false) as final: it shows the message and forgets the upload."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "media", "static", "upload.js"), encoding="utf-8") as fh:
        script = fh.read()
    stop = script.index("r.status === 507")
    assert stop < script.index("r.status >= 500")  # checked before the generic retry branch
    assert "localStorage.removeItem" in script[stop:stop + 300]
