"""The resumable chunked upload: checksums, resume after a dropped link, limits and access."""
import hashlib

import pytest

from lms.settings import set_setting
from media.models import Asset, AssetStatus


def start(client, size, filename="lesson.mp4", title="修剪果树"):
    return client.post_json("/media/api/uploads", {"title": title, "filename": filename, "size": size})


def put(client, url, offset, chunk, checksum=None, token=None):
    return client.put(url, data=chunk, headers={
        "Upload-Offset": str(offset), "Content-Type": "application/octet-stream",
        "Chunk-SHA256": checksum or hashlib.sha256(chunk).hexdigest(),
        "X-CSRFToken": token or client.csrf_token()})


@pytest.fixture
def trainer_client(client, make_user, login):
    trainer = make_user("trainer")
    login(client, trainer)
    client.user = trainer
    return client


def test_interrupted_upload_resumes_from_the_server_offset(trainer_client, landscape_clip, db):
    client = trainer_client
    with open(landscape_clip, "rb") as fh:
        data = fh.read()
    created = start(client, len(data))
    assert created.status_code == 201
    url = created.json["url"]
    token = client.csrf_token()
    third = len(data) // 3
    assert put(client, url, 0, data[:third], token=token).json["offset"] == third

    # The link drops mid-chunk: what arrives is cut short and fails its checksum; nothing is kept.
    cut = put(client, url, third, data[third:third + 1000],
              checksum=hashlib.sha256(data[third:2 * third]).hexdigest(), token=token)
    assert cut.status_code == 422 and cut.json["offset"] == third
    # A stale tab sends a chunk from the wrong place: the server answers with what it holds.
    stale = put(client, url, 0, data[:100], token=token)
    assert stale.status_code == 409 and stale.json["offset"] == third

    # The page is reloaded: the uploader asks where to continue and sends the rest.
    state = client.get(url, headers={"Accept": "application/json"})
    assert state.json == {"id": created.json["id"], "offset": third, "size": len(data),
                          "status": "uploading", "error": None}
    assert put(client, url, third, data[third:2 * third], token=token).status_code == 200
    done = put(client, url, 2 * third, data[2 * third:], token=token)
    assert done.status_code == 200, done.json
    assert done.json["status"] == "queued"
    # The job is queued once the request commits; tests run the queue at once.
    asset = db.session.get(Asset, created.json["id"])
    assert asset.status == AssetStatus.ready and asset.owner_id == client.user.id
    with open(str(client.application.config["MEDIA_ROOT"]) + f"/assets/{asset.id}/source.mp4", "rb") as fh:
        assert hashlib.sha256(fh.read()).digest() == hashlib.sha256(data).digest()


def test_chunk_past_the_declared_size_is_refused(trainer_client):
    created = start(trainer_client, 10)
    response = put(trainer_client, created.json["url"], 0, b"x" * 11)
    assert response.status_code == 413


def test_size_limit_setting_answers_413(trainer_client, db):
    set_setting("media_max_upload_mb", 1)
    db.session.commit()
    response = start(trainer_client, 2 * 1024 * 1024)
    assert response.status_code == 413
    assert "1 MB" in response.json["message"]
    assert db.session.scalars(db.select(Asset)).all() == []
    assert start(trainer_client, 1024 * 1024).status_code == 201


def test_default_limit_is_4_gb(trainer_client):
    assert start(trainer_client, 4 * 1024 ** 3 + 1).status_code == 413
    assert start(trainer_client, 4 * 1024 ** 3).status_code == 201


def test_text_upload_fails_with_its_message(trainer_client, db):
    data = "第一课 嫁接\n".encode() * 200
    created = start(trainer_client, len(data), filename="notes.mp4")
    done = put(trainer_client, created.json["url"], 0, data)
    assert done.json["status"] == "failed"
    assert "不是视频或录音" in done.json["error"]
    asset = db.session.get(Asset, created.json["id"])
    assert asset.version == 0  # no job


def test_chunk_without_checksum_is_refused(trainer_client):
    created = start(trainer_client, 4)
    response = trainer_client.put(created.json["url"], data=b"abcd", headers={
        "Upload-Offset": "0", "X-CSRFToken": trainer_client.csrf_token()})
    assert response.status_code == 422


def test_chunks_need_the_csrf_token(trainer_client):
    created = start(trainer_client, 4)
    response = trainer_client.put(created.json["url"], data=b"abcd", headers={
        "Upload-Offset": "0", "Chunk-SHA256": hashlib.sha256(b"abcd").hexdigest()})
    assert response.status_code == 400


@pytest.mark.parametrize("role", ["learner", "official"])
def test_only_trainers_and_admins_upload(client, make_user, login, role, regions):
    user = make_user(role, region_code="621123000000" if role == "official" else None)
    login(client, user)
    response = start(client, 100)
    assert response.status_code == 403


def test_another_trainers_upload_is_not_found(trainer_client, make_user, login, app):
    created = start(trainer_client, 100)
    other = app.test_client()
    login(other, make_user("trainer"))
    assert other.get(created.json["url"]).status_code == 404


def test_abandoned_uploads_are_removed_with_an_audit_entry(app, trainer_client, db):
    import os
    import time
    from datetime import timedelta

    from lms.audit.models import AuditEntry
    from lms.db import utcnow
    from media import storage
    from media.tasks import remove_abandoned_uploads

    root = str(app.config["MEDIA_ROOT"])
    data = b"x" * 1000
    ids = {}
    for name in ("abandoned", "recent", "row_lags"):
        created = start(trainer_client, len(data), title=name)
        ids[name] = created.json["id"]
        assert put(trainer_client, created.json["url"], 0, data[:100]).status_code == 200
    old = utcnow() - timedelta(hours=49)
    two_days_ago = time.time() - 49 * 3600
    for name in ("abandoned", "row_lags"):
        db.session.execute(db.update(Asset).where(Asset.id == ids[name]).values(updated_at=old))
    db.session.commit()
    os.utime(storage.upload_path(root, ids["abandoned"]), (two_days_ago, two_days_ago))
    # A part file without its upload (a request that failed after creating it), long untouched.
    orphan = os.path.join(root, "uploads", "999999.part")
    open(orphan, "wb").close()
    os.utime(orphan, (two_days_ago, two_days_ago))

    assert remove_abandoned_uploads.call_local() == [ids["abandoned"]]
    db.session.expire_all()
    assert db.session.get(Asset, ids["abandoned"]) is None
    assert not os.path.exists(storage.upload_path(root, ids["abandoned"])) and not os.path.exists(orphan)
    # A piece arrived recently (the file says so even where the row lags): kept, and resumable.
    for name in ("recent", "row_lags"):
        assert db.session.get(Asset, ids[name]).status == AssetStatus.uploading
        assert os.path.getsize(storage.upload_path(root, ids[name])) == 100
    entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "media.upload_abandoned")).one()
    assert entry.target == f"Asset:{ids['abandoned']}" and entry.actor_id is None
    assert entry.details["received"] == 100 and entry.details["size"] == 1000

    # Through the queue (as the hourly schedule runs it), with a longer setting: nothing goes.
    set_setting("media_abandoned_upload_hours", 1000)
    db.session.execute(db.update(Asset).where(Asset.id == ids["recent"]).values(updated_at=old))
    db.session.commit()
    os.utime(storage.upload_path(root, ids["recent"]), (two_days_ago, two_days_ago))
    remove_abandoned_uploads()
    db.session.expire_all()
    assert db.session.get(Asset, ids["recent"]).status == AssetStatus.uploading
