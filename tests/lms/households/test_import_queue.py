"""A confirmed household import is a job in the outbox, written with the "queued" status: it
survives a queue that refuses or loses it, and runs once the worker relays it."""
from datetime import timedelta

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from lms.db import utcnow
from lms.households.models import HouseholdImport, Member
from lms.queue import LOST_AFTER, JobOutbox, requeue_lost

from .records import family


@pytest.fixture(autouse=True)
def _own_import_root(app, tmp_path, monkeypatch):
    # Some of these imports never run: their uploads must not stay in the shared instance folder.
    monkeypatch.setitem(app.config, "IMPORT_ROOT", tmp_path / "imports")


def test_a_confirmed_import_waits_in_the_outbox_and_runs_when_relayed(
        client, regions, make_user, login, export, db, worker_queue):
    login(client, make_user("official", region_code="621123100000"))
    with open(export(family("H1", 1)), "rb") as fh:
        assert client.post_form("/households/import", {"file": (fh, "名单.csv")},
                                content_type="multipart/form-data").status_code == 200
    rec = db.session.scalar(select(HouseholdImport))
    assert client.post_form(f"/households/import/{rec.id}/confirm", {}).status_code == 302
    db.session.expire_all()
    assert db.session.get(HouseholdImport, rec.id).status == "queued"
    assert [(j.task, j.args) for j in db.session.scalars(select(JobOutbox))] == [
        ("lms.households.tasks.run_import", [rec.id])]
    assert worker_queue.messages() == [] and db.session.scalar(select(Member)) is None

    assert worker_queue.relay() == 1
    worker_queue.huey.flush()  # the message is lost (Redis restarted empty): the outbox still has it
    assert len(requeue_lost(utcnow() + LOST_AFTER + timedelta(seconds=1))) == 1
    assert worker_queue.relay() == 1 and worker_queue.work() == 1
    db.session.expire_all()
    rec = db.session.get(HouseholdImport, rec.id)
    assert rec.status == "done" and rec.report["households_created"] == 1
    assert len(db.session.scalars(select(Member)).all()) == 3
    assert db.session.scalars(select(JobOutbox)).all() == []


def test_with_redis_away_an_import_is_confirmed_and_runs_once_it_is_back(
        client, regions, make_user, login, export, db, worker_queue):
    login(client, make_user("official", region_code="621123100000"))
    with open(export(family("H1", 1)), "rb") as fh:
        client.post_form("/households/import", {"file": (fh, "名单.csv")}, content_type="multipart/form-data")
    rec = db.session.scalar(select(HouseholdImport))
    worker_queue.refuse()
    done = client.post_form(f"/households/import/{rec.id}/confirm", {})
    assert done.status_code == 302
    assert client.get(done.headers["Location"]).status_code == 200
    with pytest.raises(RedisConnectionError):
        worker_queue.relay()
    db.session.expire_all()
    assert db.session.get(HouseholdImport, rec.id).status == "queued"
    worker_queue.repair()
    assert worker_queue.relay() == 1 and worker_queue.work() == 1
    db.session.expire_all()
    assert db.session.get(HouseholdImport, rec.id).status == "done"
    assert len(db.session.scalars(select(Member)).all()) == 3


def test_an_import_confirmed_twice_queues_one_job(client, regions, make_user, login, export, db, worker_queue):
    login(client, make_user("official", region_code="621123100000"))
    with open(export(family("H1", 1)), "rb") as fh:
        client.post_form("/households/import", {"file": (fh, "名单.csv")}, content_type="multipart/form-data")
    rec = db.session.scalar(select(HouseholdImport))
    assert client.post_form(f"/households/import/{rec.id}/confirm", {}).status_code == 302
    assert client.post_form(f"/households/import/{rec.id}/confirm", {}).status_code == 409
    assert len(db.session.scalars(select(JobOutbox)).all()) == 1
