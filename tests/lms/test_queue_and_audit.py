import pytest
from huey.exceptions import TaskException

from lms.audit import record
from lms.audit.models import AuditEntry
from lms.queue import TaskFailure, app_task
from lms.regions.models import Region


@app_task(retries=1, retry_delay=0)
def add_region_then_fail(code, fail):
    from lms.extensions import db

    db.session.add(Region(code=code, name="测试省", level=1))
    if fail:
        raise RuntimeError("disk full")


def test_a_task_commits_its_work_in_its_own_transaction(db):
    add_region_then_fail("630000000000", False)
    db.session.expire_all()
    assert db.session.get(Region, "630000000000") is not None


def test_a_failing_task_rolls_back_and_its_failure_is_recorded(db):
    result = add_region_then_fail("640000000000", True)
    with pytest.raises(TaskException, match="disk full"):
        result.get()
    db.session.expire_all()
    assert db.session.get(Region, "640000000000") is None
    failures = db.session.scalars(db.select(TaskFailure)).all()
    # retries=1: the first attempt and its retry both failed, and both are on record.
    assert len(failures) == 2
    assert all("disk full" in f.error and f.args == ["640000000000", True] for f in failures)


def test_audit_entry_rolls_back_with_the_change(db, make_user):
    user = make_user("admin")
    record(user, "region.create", "Region:650000000000")
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(AuditEntry.id))) == 0
