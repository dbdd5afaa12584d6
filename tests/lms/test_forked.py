"""Heavy jobs run in a forked child of the job worker (lms/forked.py): what the child loads
leaves with it, its database work is kept, and its failure is the task's failure."""
import sys

import pytest

from lms import forked
from lms.regions.models import Region


@pytest.fixture
def as_worker(app, monkeypatch):
    # The job worker's configuration: jobs are queued, not run inline.
    monkeypatch.setitem(app.config, "QUEUE_IMMEDIATE", False)
    monkeypatch.delenv("LMS_TASKS_IN_CHILD", raising=False)


def _add_region_and_load(code):
    from lms.extensions import db

    db.session.add(Region(code=code, name="子进程乡", level=1))
    sys.modules["lms.forked"].LOADED_IN_CHILD = True  # stands for jieba's dictionary
    return {"code": code}


def _add_region_then_fail(code):
    from lms.extensions import db

    db.session.add(Region(code=code, name="失败乡", level=1))
    db.session.flush()
    raise ValueError("the job broke")


def test_child_does_the_work_and_its_memory_stays_with_it(as_worker, db):
    assert forked.run_forked(_add_region_and_load, "990000000000") == {"code": "990000000000"}
    db.session.expire_all()
    assert db.session.get(Region, "990000000000").name == "子进程乡"
    assert not hasattr(forked, "LOADED_IN_CHILD")


def test_failure_in_the_child_fails_the_task_and_changes_nothing(as_worker, db):
    with pytest.raises(forked.ChildFailed, match="the job broke"):
        forked.run_forked(_add_region_then_fail, "990000000001")
    db.session.expire_all()
    assert db.session.get(Region, "990000000001") is None


def test_inline_when_the_queue_runs_jobs_immediately(db):
    assert forked.run_forked(_add_region_and_load, "990000000002") == {"code": "990000000002"}
    assert forked.LOADED_IN_CHILD is True
    del forked.LOADED_IN_CHILD
