"""Trainer pages: my media with live status, preview, delete refused while in use."""
import os

import pytest

from lms.audit.models import AuditEntry
from media import services, storage
from media.models import Asset, AssetStatus


@pytest.fixture
def trainer(make_user):
    return make_user("trainer", display_name="王老师")


def test_my_media_lists_own_recordings_with_status(client, login, trainer, make_user, make_ready_asset, db):
    mine = make_ready_asset("嫁接技术", owner=trainer)
    make_ready_asset("别人的课", owner=make_user("trainer"))
    failed = Asset(title="坏文件", owner_id=trainer.id, status=AssetStatus.failed, error_code="truncated")
    busy = Asset(title="转换中的课", owner_id=trainer.id, status=AssetStatus.transcoding, progress=42)
    db.session.add_all([failed, busy])
    db.session.commit()
    login(client, trainer)
    page = client.get("/media/").get_data(as_text=True)
    assert "嫁接技术" in page and "别人的课" not in page
    assert "可以播放" in page and "转换中" in page and "42%" in page
    assert "文件不完整" in page
    status = client.get(f"/media/api/status?ids={mine.id},{busy.id}").json["assets"]
    assert {(a["id"], a["status"], a["progress"]) for a in status} == \
        {(mine.id, "ready", 100), (busy.id, "transcoding", 42)}


def test_admin_sees_everyones_media_and_the_technical_detail(client, login, make_user, trainer, db):
    asset = Asset(title="坏文件", owner_id=trainer.id, status=AssetStatus.failed, error_code="undecodable",
                  error_detail="decode check at end: Invalid NAL unit size")
    db.session.add(asset)
    db.session.commit()
    login(client, make_user("admin"))
    assert "坏文件" in client.get("/media/").get_data(as_text=True)
    page = client.get(f"/media/{asset.id}").get_data(as_text=True)
    assert "文件已损坏" in page and "Invalid NAL unit size" in page
    assert "重试" not in page  # a damaged file is not converted again: a good copy is needed


def test_preview_player_page(client, login, trainer, make_ready_asset):
    asset = make_ready_asset(owner=trainer)
    login(client, trainer)
    page = client.get(f"/media/{asset.id}").get_data(as_text=True)
    assert f'data-master="/media/files/{asset.id}/v1/master.m3u8"' in page
    assert f'data-mp4="/media/files/{asset.id}/v1/video.mp4"' in page
    assert "player.js" in page and "<script>" not in page


@pytest.mark.parametrize("role", ["learner", "official"])
def test_pages_are_for_trainers_and_admins(client, login, make_user, role, regions):
    login(client, make_user(role, region_code="621123000000" if role == "official" else None))
    assert client.get("/media/").status_code == 403
    assert client.get("/media/upload").status_code == 403


def test_other_trainers_recording_is_not_found(client, login, trainer, make_user, make_ready_asset):
    asset = make_ready_asset(owner=make_user("trainer"))
    login(client, trainer)
    assert client.get(f"/media/{asset.id}").status_code == 404
    assert client.post_form(f"/media/{asset.id}/delete").status_code == 404


def test_delete_is_refused_while_in_use(app, client, login, trainer, make_ready_asset, db):
    asset = make_ready_asset(owner=trainer)
    asset_id = asset.id
    checker = lambda i: ["焊工基础 / 第1课"] if i == asset_id else []  # noqa: E731
    services.register_in_use_checker(checker)
    try:
        login(client, trainer)
        page = client.get(f"/media/{asset.id}").get_data(as_text=True)
        assert "焊工基础 / 第1课" in page
        response = client.post_form(f"/media/{asset.id}/delete", follow_redirects=True)
        assert "正在被 焊工基础 / 第1课 使用，不能删除" in response.get_data(as_text=True)
        assert db.session.get(Asset, asset.id) is not None
    finally:
        services.IN_USE_CHECKERS.remove(checker)
    folder = storage.asset_dir(str(app.config["MEDIA_ROOT"]), asset.id)
    assert os.path.isdir(folder)
    assert client.post_form(f"/media/{asset_id}/delete").status_code == 302
    assert db.session.get(Asset, asset_id) is None and not os.path.exists(folder)
    assert db.session.scalars(db.select(AuditEntry.action)).all() == ["media.delete"]


def test_upload_page_loads_the_resuming_uploader(client, login, trainer):
    login(client, trainer)
    page = client.get("/media/upload").get_data(as_text=True)
    assert 'id="upload-form"' in page and "upload.js" in page
    assert 'data-max="4294967296"' in page
    script = client.get("/media/static/upload.js")
    assert script.status_code == 200 and b"Upload-Offset" in script.data
    script.close()
