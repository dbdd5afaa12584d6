"""Rules as data, the proposal of a batch (eligibility edges, exclusions), and no one paid twice."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from lms.extensions import db
from tests.lms.stats.factories import make_household, make_member
from tests.subsidies.fixtures import NEIGHBOUR, TOWNSHIP, VILLAGE, certify, give_account, rows_of


def create(runner, *args, region=TOWNSHIP, period="2026"):
    result = runner.invoke(args=["subsidies", "batch", "create", "--region", region, "--strand", "short-training",
                                 "--period", period, "--json", *args])
    return result, json.loads(result.output) if result.output.strip().startswith("{") else None


def excluded(data) -> dict[int, tuple]:
    return {e["member"]: (e["reason"], e.get("detail")) for e in data["excluded"]}


def test_a_batch_proposes_each_eligible_person_of_the_township_with_the_rule_amount(world, runner):
    result, data = create(runner)
    assert result.exit_code == 0, result.output
    # 张三 and 李四 share their household's account; 王五 has his own; 赵六 lives in another township.
    assert data["status"] == "draft" and data["rows"] == 3 and data["total_yuan"] == "4500.00"
    rows = rows_of(data["batch"])
    assert {r.member_id for r in rows} == {world.zhang.id, world.li.id, world.wang.id}
    assert all(r.amount_fen == 150000 and r.certificate_number.startswith("YL") for r in rows)
    # An imported certificate belongs to no course or class: the row says what skill it certifies.
    assert {r.evidence_title for r in rows} == {"马铃薯种植"}
    assert sum(r.amount_fen for r in rows) == 450000


def test_no_account_and_already_paid_are_excluded_with_their_reason(world, runner):
    sun = make_member(make_household(NEIGHBOUR), name="孙七", birth_ymd=19930101)
    certify(sun)
    db.session.commit()
    _result, first = create(runner)
    assert excluded(first)[sun.id] == ("no_account", None)
    give_account(sun)
    db.session.commit()
    result, second = create(runner)
    assert result.exit_code == 0 and second["rows"] == 1 and second["total_yuan"] == "1500.00"
    assert excluded(second)[world.zhang.id] == ("already_paid", "in_batch")
    assert {r.member_id for r in rows_of(second["batch"])} == {sun.id}


def test_age_is_taken_at_the_date_of_the_certificate_both_bounds_included(world, runner):
    household = make_household(VILLAGE)
    # 45 on the day of the certificate (46 today): in. 46 on that day: out. 16 that day: in; 15: out.
    turned_46_after = make_member(household, name="甲", birth_ymd=19800521)
    already_46 = make_member(household, name="乙", birth_ymd=19800520, relation="02")
    just_16 = make_member(household, name="丙", birth_ymd=20100520, relation="03")
    still_15 = make_member(household, name="丁", birth_ymd=20100521, relation="04")
    for person in (turned_46_after, already_46, just_16, still_15):
        certify(person, day=dt.date(2026, 5, 20))
    give_account(turned_46_after)
    db.session.commit()
    _result, data = create(runner)
    members = {r.member_id for r in rows_of(data["batch"])}
    assert turned_46_after.id in members and just_16.id in members
    assert excluded(data)[already_46.id] == ("rule_not_met", "age")
    assert excluded(data)[still_15.id] == ("rule_not_met", "age")


def test_a_household_that_left_the_policy_after_the_course_is_not_proposed(world, runner):
    from lms.households import categories as cat

    world.wang.household.poverty_status = cat.PovertyStatus.OUT
    db.session.commit()
    _result, data = create(runner)
    assert excluded(data)[world.wang.id] == ("rule_not_met", "category")
    assert world.wang.id not in {r.member_id for r in rows_of(data["batch"])}


def test_a_revoked_certificate_or_one_of_another_programme_proposes_nobody(world, runner):
    from lms.skills.models import SkillAward
    from lms.skills.services import revoke_award
    from sqlalchemy import select

    award = db.session.scalar(select(SkillAward).where(SkillAward.member_id == world.wang.id))
    revoke_award(award, "证书造假", None, refresh=False)
    other = make_member(make_household(VILLAGE), name="周八", birth_ymd=19900101)
    certify(other, programme="tongxin")
    give_account(other)
    db.session.commit()
    _result, data = create(runner)
    members = {r.member_id for r in rows_of(data["batch"])}
    assert world.wang.id not in members and other.id not in members


def test_a_changed_rule_never_changes_a_batch_already_made(world, runner):
    _result, data = create(runner)
    result = runner.invoke(args=["subsidies", "rule", "set", "--strand", "short-training", "--programme", "yulu-short",
                                 "--amount", "3000", "--evidence", "certificate", "--min-age", "16",
                                 "--max-age", "60", "--per", "year"])
    assert result.exit_code == 0, result.output
    assert {r.amount_fen for r in rows_of(data["batch"])} == {150000}


def test_a_batch_outside_the_creators_region_or_by_a_village_official_is_refused(world, runner):
    for user in (world.sibling, world.village):
        result, data = create(runner, "--by", user.username)
        assert result.exit_code == 2 and data["error"]
    result, data = create(runner, "--by", world.township.username)
    assert result.exit_code == 0 and data["rows"] == 3
    from lms.subsidies.models import Batch

    assert db.session.query(Batch).count() == 1


def test_period_must_fit_the_rule(world, runner):
    result, data = create(runner, period="2026-1")
    assert result.exit_code == 2 and "2026" in data["error"]


def test_rule_set_stores_fen_and_refuses_more_than_two_decimals(app, runner, rule):
    result = runner.invoke(args=["subsidies", "rule", "set", "--strand", "short-training", "--programme", "yulu-short",
                                 "--amount", "2000.005", "--evidence", "certificate", "--min-age", "16",
                                 "--max-age", "45", "--per", "year", "--json"])
    assert result.exit_code == 2 and "two decimals" in result.output
    result = runner.invoke(args=["subsidies", "rule", "set", "--strand", "short-training", "--programme", "yulu-short",
                                 "--amount", "2,000.50", "--evidence", "certificate", "--min-age", "16",
                                 "--max-age", "45", "--per", "year", "--valid-from", "2026-01-01", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    from lms.subsidies.models import Rule

    assert data["amount_yuan"] == "2000.50" and db.session.get(Rule, data["rule"]).amount_fen == 200050


def test_the_database_refuses_a_second_claiming_row_for_the_same_person_strand_and_period(world, runner):
    from sqlalchemy.exc import IntegrityError

    from lms.subsidies.models import Row

    _result, data = create(runner)
    row = rows_of(data["batch"])[0]
    copy = Row(**{c.key: getattr(row, c.key) for c in Row.__table__.columns if c.key != "id"})
    db.session.add(copy)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    # An excluded or failed row claims nothing: the person may be proposed again.
    copy = Row(**{c.key: getattr(row, c.key) for c in Row.__table__.columns if c.key != "id"} | {"status": "failed"})
    db.session.add(copy)
    db.session.flush()


def test_two_officials_creating_batches_at_the_same_moment_claim_each_person_once(app, world):
    """Two sessions create a batch at once. On PostgreSQL both read before either writes, and the
    claim index makes the second retry without the people the first took; on SQLite the second
    waits for the first's write lock (``lms.db.writing_from_here``), then proposes what is left.
    Neither official meets an error."""
    from lms.subsidies import batches

    postgres = db.engine.dialect.name == "postgresql"

    barrier = threading.Barrier(2, timeout=20)
    real = batches.propose
    calls = {"n": 0}
    lock = threading.Lock()

    def racing(*args, **kwargs):
        proposal = real(*args, **kwargs)
        with lock:
            calls["n"] += 1
            first = calls["n"] <= 2
        if first and postgres:  # on SQLite the second cannot read before the first commits
            barrier.wait()
        return proposal

    batches.propose = racing
    results, errors = [], []

    def worker():
        try:
            with app.app_context():
                batch, proposal = batches.create_batch(None, TOWNSHIP, "short-training", "2026")
                db.session.commit()
                results.append(len(proposal.rows))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    try:
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        batches.propose = real
    assert not errors, errors
    assert sorted(results) == [0, 3]
    from sqlalchemy import func, select

    from lms.subsidies.models import Row

    assert db.session.scalar(select(func.count(Row.id))) == 3


# Each process loads the app first, then waits for the same instant to run the command, so the two
# proposals run as close together as two processes can.
_AT_ONCE = """
import sys, time
from wsgi import app
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
app.cli.main(args=sys.argv[2:], prog_name="flask")
"""


def test_two_processes_creating_batches_at_once_claim_each_person_once(app, world, tmp_path):
    """Two officials' commands, in two processes on the tests' database (PostgreSQL in the second
    pass): both succeed, and each person is in one batch."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from sqlalchemy import func, select

    from lms.subsidies.models import Row

    env = {**os.environ, "LMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "LMS_SECRET_KEY": app.config["SECRET_KEY"], "LMS_DATA_KEY": app.config["DATA_KEY"],
           "LMS_MEDIA_LINK_SECRET": "test-link-secret", "LMS_INSTANCE_PATH": str(tmp_path),
           "LMS_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.db'}", "LMS_RATELIMIT_URL": "memory://"}
    start = time.time() + 8
    processes = [subprocess.Popen(
        [sys.executable, "-c", _AT_ONCE, str(start), "subsidies", "batch", "create", "--region", TOWNSHIP,
         "--strand", "short-training", "--period", "2026", "--by", official.username, "--json"],
        cwd=Path(__file__).resolve().parents[2], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for official in (world.township, world.county)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    rows = sorted(json.loads(out)["rows"] for out, _err in outputs)
    assert rows == [0, 3]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Row.id))) == 3
    assert db.session.scalar(select(func.count(func.distinct(Row.member_id)))) == 3
