import json

from lms.accounts.models import User
from lms.audit.models import AuditEntry


def test_create_staff_user_prints_json(runner, db, regions):
    result = runner.invoke(args=["users", "create", "--username", "county", "--role", "official",
                                 "--region", "621123000000", "--password", "long-enough", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["username"] == "county" and data["role"] == "official"
    user = db.session.get(User, data["id"])
    assert user.region_code == "621123000000" and user.check_password("long-enough")
    assert db.session.scalar(db.select(AuditEntry.action).where(AuditEntry.target == f"User:{user.id}")) == "user.create"


def test_create_learner_uses_phone_and_pin(runner, db):
    result = runner.invoke(args=["users", "create", "--username", "13912345678", "--role", "learner",
                                 "--password", "581736", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["username"] == "139****5678"


def test_unknown_role_changes_nothing(runner, db):
    result = runner.invoke(args=["users", "create", "--username", "x1x", "--role", "boss", "--password", "long-enough"])
    assert result.exit_code == 2
    assert "未知角色" in result.output or "Unknown role" in result.output
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_official_without_region_and_bad_pin_are_refused(runner, db, regions):
    assert runner.invoke(args=["users", "create", "--username", "off", "--role", "official",
                               "--password", "long-enough"]).exit_code == 2
    assert runner.invoke(args=["users", "create", "--username", "13912345678", "--role", "learner",
                               "--password", "12345"]).exit_code == 2
    assert runner.invoke(args=["users", "create", "--username", "off", "--role", "official", "--region",
                               "999999999999", "--password", "long-enough"]).exit_code == 2
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_duplicate_username_is_refused(runner, make_user):
    make_user("trainer", username="teacher")
    result = runner.invoke(args=["users", "create", "--username", "teacher", "--role", "trainer",
                                 "--password", "long-enough"])
    assert result.exit_code == 2
