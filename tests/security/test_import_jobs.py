"""Household imports whose worker died, previews nobody confirmed and previews discarded by hand:
each is seen, ends with its file removed, is audited and shows its state in Chinese."""
from __future__ import annotations

import csv
import datetime as dt
import os
import time

import pytest
from sqlalchemy import func, select

from lms.extensions import db
from tests.lms.stats.factories import id_number

VILLAGE = "621123100201"
TOWNSHIP = "621123100000"
HEADER = ["户编号", "姓名", "证件号码", "与户主关系", "劳动技能", "村代码", "文化程度", "贫困户属性",
          "主要致贫原因", "脱贫状态", "年度"]


@pytest.fixture
def official(regions, make_user, login, client):
    user = make_user("official", region_code=TOWNSHIP)
    login(client, user)
    return user


@pytest.fixture
def upload(client, official, tmp_path):
    """Upload a one-household export through the page; the import record (previewed, unconfirmed)."""
    from lms.households.models import HouseholdImport

    def do(name="名单.csv"):
        path = tmp_path / name
        with open(path, "w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(HEADER)
            out.writerow(["H1", "张三", id_number(19800101), "户主", "普通劳动力", VILLAGE, "初中", "一般贫困户",
                          "缺技术", "未脱贫", "2024"])
        with open(path, "rb") as fh:
            page = client.post_form("/households/import", {"file": (fh, name)},
                                    content_type="multipart/form-data")
        assert page.status_code == 200
        rec = db.session.scalar(select(HouseholdImport).order_by(HouseholdImport.id.desc()).limit(1))
        assert rec.status == "uploaded" and os.path.exists(rec.stored_path)
        return rec

    return do


def households() -> int:
    from lms.households.models import Household

    return db.session.scalar(select(func.count(Household.id)))


def actions() -> list[str]:
    from lms.audit.models import AuditEntry

    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def _age(path: str, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _claimed_then_died(rec) -> str:
    """What a worker does before it dies: claim the queued import and write its first progress."""
    from lms.households.tasks import progress_path
    from lms.households.uploads import claim

    rec.status = "queued"
    db.session.commit()
    assert claim(rec.id)
    db.session.commit()
    with open(progress_path(rec.stored_path), "w", encoding="ascii") as fh:
        fh.write("0")
    return progress_path(rec.stored_path)


def test_a_dead_import_job_is_marked_failed_by_the_periodic_check_and_its_file_removed(
        client, upload):
    from lms.households.models import HouseholdImport
    from lms.households.tasks import sweep_imports
    from lms.households.uploads import LEASE_SECONDS

    rec = upload()
    stored = rec.stored_path
    progress = _claimed_then_died(rec)
    sweep_imports()  # the lease is fresh: the job may still be running
    db.session.expire_all()
    assert db.session.get(HouseholdImport, rec.id).status == "running" and os.path.exists(stored)

    # Time passes, the worker never renews its lease: its row and its progress file both age.
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=LEASE_SECONDS + 60)
    db.session.get(HouseholdImport, rec.id).lease_expires_at = past
    db.session.commit()
    _age(progress, LEASE_SECONDS + 60)
    sweep_imports()
    db.session.expire_all()
    rec = db.session.get(HouseholdImport, rec.id)
    assert rec.status == "failed" and rec.stored_path is None and rec.lease_token is None
    assert not os.path.exists(stored) and not os.path.exists(progress)
    assert "households.import_lost" in actions()
    assert households() == 0
    page = client.get(f"/households/import/{rec.id}").get_data(as_text=True)
    assert "导入程序中途停止" in page and "失败" in page
    assert client.get(f"/households/import/{rec.id}/progress.json").json["state"] == "失败"
    # A second check finds nothing more to do.
    sweep_imports()
    assert actions().count("households.import_lost") == 1


def test_a_job_that_keeps_renewing_its_lease_beside_the_upload_is_left_alone(upload):
    from lms.households.models import HouseholdImport
    from lms.households.uploads import LEASE_SECONDS, fail_dead_imports

    rec = upload()
    _claimed_then_died(rec)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=LEASE_SECONDS + 60)
    # The database's lease has passed by then, but the progress file was just rewritten.
    from lms.households.tasks import progress_path

    os.utime(progress_path(rec.stored_path), (later.timestamp(), later.timestamp()))
    assert fail_dead_imports(later) == []
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(HouseholdImport, rec.id).status == "running"
    assert fail_dead_imports(later + dt.timedelta(seconds=LEASE_SECONDS + 1)) == [rec.id]


def test_a_normal_import_ends_with_its_lease_released_and_its_file_removed(client, upload):
    from lms.households.models import HouseholdImport

    rec = upload()
    stored = rec.stored_path
    assert client.post_form(f"/households/import/{rec.id}/confirm", {}).status_code == 302
    db.session.expire_all()
    rec = db.session.get(HouseholdImport, rec.id)
    assert (rec.status, rec.lease_token, rec.lease_expires_at) == ("done", None, None)
    assert not os.path.exists(stored) and households() == 1


def test_an_unconfirmed_preview_expires_after_the_setting(client, upload):
    from lms.households.models import HouseholdImport
    from lms.households.tasks import sweep_imports
    from lms.settings import set_setting

    old = upload("old.csv")
    old_path = old.stored_path
    old.created_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=49)
    db.session.commit()
    fresh = upload("fresh.csv")
    sweep_imports()
    db.session.expire_all()
    old, fresh = db.session.get(HouseholdImport, old.id), db.session.get(HouseholdImport, fresh.id)
    assert (old.status, old.stored_path) == ("expired", None) and not os.path.exists(old_path)
    assert fresh.status == "uploaded" and os.path.exists(fresh.stored_path)
    assert "households.import_expired" in actions()
    # Too late to confirm: nothing is imported.
    assert client.post_form(f"/households/import/{old.id}/confirm", {}).status_code == 409
    assert households() == 0
    listing = client.get("/households/import").get_data(as_text=True)
    assert "已过期（未及时确认）" in listing and "待确认" in listing

    # An admin shortens the wait (settings table): the fresh upload, two hours old, expires too.
    set_setting("households.preview_hours", 1)
    fresh.created_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    db.session.commit()
    sweep_imports()
    db.session.expire_all()
    assert db.session.get(HouseholdImport, fresh.id).status == "expired"


def test_an_official_discards_a_preview_by_hand(client, upload, make_user, login):
    from lms.households.models import HouseholdImport

    rec = upload()
    stored = rec.stored_path
    other = client.application.test_client()
    login(other, make_user("official", region_code=TOWNSHIP))
    assert other.post_form(f"/households/import/{rec.id}/discard", {}).status_code == 404
    assert os.path.exists(stored)
    assert client.post_form(f"/households/import/{rec.id}/discard", {}, csrf=False).status_code == 400
    assert os.path.exists(stored)

    response = client.post_form(f"/households/import/{rec.id}/discard", {})
    assert response.status_code == 302
    db.session.expire_all()
    rec = db.session.get(HouseholdImport, rec.id)
    assert (rec.status, rec.stored_path) == ("discarded", None) and not os.path.exists(stored)
    assert "households.import_discarded" in actions()
    assert client.post_form(f"/households/import/{rec.id}/confirm", {}).status_code == 409
    assert households() == 0
    page = client.get(f"/households/import/{rec.id}").get_data(as_text=True)
    assert "已放弃" in page and "此文件未导入任何数据，文件已删除。" in page
    # A finished import cannot be discarded: said so, nothing changes.
    again = client.post_form(f"/households/import/{rec.id}/discard", {}, follow_redirects=True)
    assert "只有待确认的上传可以放弃。" in again.get_data(as_text=True)
    assert actions().count("households.import_discarded") == 1


def test_every_import_state_shows_in_chinese(client, official):
    from lms.households.models import HouseholdImport

    labels = {"uploaded": "待确认", "queued": "排队等待", "running": "导入中", "done": "已完成",
              "failed": "失败", "expired": "已过期（未及时确认）", "discarded": "已放弃"}
    for status in labels:
        db.session.add(HouseholdImport(user_id=official.id, filename=f"{status}.csv", status=status,
                                       report={"rows": 0} if status == "done" else None))
    db.session.commit()
    listing = client.get("/households/import").get_data(as_text=True)
    for status, label in labels.items():
        assert f"<td>{label}</td>" in listing, status
        assert f"<td>{status}</td>" not in listing, status
    for rec in db.session.scalars(select(HouseholdImport)):
        page = client.get(f"/households/import/{rec.id}").get_data(as_text=True)
        assert f"<strong>{labels[rec.status]}</strong>" in page


def test_a_job_declared_dead_that_finishes_after_all_keeps_nothing(upload, monkeypatch):
    """The check declared the job dead (another process, its own transaction) after the job had
    claimed the import: the job's import is rolled back and the import stays failed."""
    from lms.households import tasks
    from lms.households.models import HouseholdImport

    rec = upload()
    rec.status = "queued"
    db.session.commit()
    count_rows = tasks.estimate_rows

    def declared_dead_meanwhile(path):
        with db.engine.begin() as other:
            other.execute(HouseholdImport.__table__.update()
                          .where(HouseholdImport.id == rec.id)
                          .values(status="failed", lease_token=None, lease_expires_at=None))
        return count_rows(path)

    monkeypatch.setattr(tasks, "estimate_rows", declared_dead_meanwhile)
    tasks.run_import(rec.id)
    db.session.expire_all()
    assert db.session.get(HouseholdImport, rec.id).status == "failed"
    assert households() == 0


def test_a_mistyped_zero_hour_setting_still_leaves_a_fresh_preview_alone(upload):
    from lms.households.models import HouseholdImport
    from lms.households.uploads import expire_previews
    from lms.settings import set_setting

    rec = upload()
    set_setting("households.preview_hours", 0)
    rec.created_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=30)
    db.session.commit()
    assert expire_previews() == []
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(HouseholdImport, rec.id).status == "uploaded"
