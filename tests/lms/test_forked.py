"""Heavy jobs run in a child process of the job worker (lms/forked.py): what the child loads
leaves with it, its database work is kept, and its failure is the task's failure."""
import sys

import pytest

from lms import forked
from lms.regions.models import Region


@pytest.fixture
def as_worker(app, monkeypatch, tmp_path):
    # The job worker's configuration: jobs are queued, not run inline, and the child builds the
    # app from the environment the worker was started with (here: the test app's settings).
    monkeypatch.setitem(app.config, "QUEUE_IMMEDIATE", False)
    monkeypatch.delenv("LMS_TASKS_IN_CHILD", raising=False)
    for name, key in (("LMS_DATABASE_URL", "SQLALCHEMY_DATABASE_URI"), ("LMS_DATA_KEY", "DATA_KEY"),
                      ("LMS_SECRET_KEY", "SECRET_KEY"), ("LMS_SEARCH_INDEX", "SEARCH_INDEX"),
                      ("LMS_MEDIA_ROOT", "MEDIA_ROOT")):
        monkeypatch.setenv(name, str(app.config[key]))
    # Outside SQLite the app requires every key from the environment (README "Production").
    monkeypatch.setenv("LMS_MEDIA_LINK_SECRET", str(app.config.get("MEDIA_LINK_SECRET") or "test-link-secret-0123456789"))
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("LMS_QUEUE_URL", f"sqlite:///{tmp_path / 'queue.db'}")


def add_region_and_load(code):
    from lms.extensions import db

    db.session.add(Region(code=code, name="子进程乡", level=1))
    sys.modules["lms.forked"].LOADED_IN_CHILD = True  # stands for jieba's dictionary
    return {"code": code}


def add_region_then_fail(code):
    from lms.extensions import db

    db.session.add(Region(code=code, name="失败乡", level=1))
    db.session.flush()
    raise ValueError("the job broke")


def test_child_does_the_work_and_its_memory_stays_with_it(as_worker, db):
    assert forked.run_in_child(add_region_and_load, "990000000000") == {"code": "990000000000"}
    db.session.expire_all()
    assert db.session.get(Region, "990000000000").name == "子进程乡"
    assert not hasattr(forked, "LOADED_IN_CHILD")


def test_failure_in_the_child_fails_the_task_and_changes_nothing(as_worker, db):
    with pytest.raises(forked.ChildFailed, match="the job broke"):
        forked.run_in_child(add_region_then_fail, "990000000001")
    db.session.expire_all()
    assert db.session.get(Region, "990000000001") is None


def test_inline_when_the_queue_runs_jobs_immediately(db):
    assert forked.run_in_child(add_region_and_load, "990000000002") == {"code": "990000000002"}
    assert forked.LOADED_IN_CHILD is True
    del forked.LOADED_IN_CHILD
