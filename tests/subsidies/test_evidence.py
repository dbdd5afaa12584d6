"""The other kinds of evidence, end to end: a course completed in Xiangxue (its certificate) and an
offline class passed. The rule valid on the day of the result says which kind counts: under a
version that asks for one kind, another kind proposes nobody."""
from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from lms.extensions import db
from tests.lms.learning.heartbeats import beat
from tests.subsidies.fixtures import NEIGHBOUR, TOWNSHIP, VILLAGE, rows_of


def _rule(runner, evidence: str, amount: str):
    result = runner.invoke(args=["subsidies", "rule", "set", "--strand", "short-training", "--programme", "yulu-short",
                                 "--amount", amount, "--evidence", evidence, "--min-age", "16", "--max-age", "45",
                                 "--per", "year", "--json"])
    assert result.exit_code == 0, result.output


def _create(runner, period: str) -> dict:
    result = runner.invoke(args=["subsidies", "batch", "create", "--region", TOWNSHIP, "--strand", "short-training",
                                 "--period", period, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _excluded(data) -> dict[int, tuple]:
    return {e["member"]: (e["reason"], e.get("detail")) for e in data["excluded"]}


def test_a_course_completed_in_xiangxue_is_the_evidence_when_the_rule_asks_for_a_completion(
        world, client, login, runner, make_course, clock):
    from lms.learning.models import Certificate

    course = make_course(title="马铃薯脱毒种薯繁育", lessons=(("video", 100.0),))
    lesson = course.lessons[0]
    login(client, world.learner)  # 张三's account at the village terminal
    assert client.get(f"/learn/lessons/{lesson.id}").status_code == 200
    for seq in range(1, 8):
        clock.now += 15
        assert beat(client, lesson, [[(seq - 1) * 15, min(100, seq * 15)]], seq).status_code == 200
    certificate = db.session.query(Certificate).one()
    # A new version of the rule asks for a course of 雨露计划 completed with its certificate.
    _rule(runner, "completion", "800")
    year = str(certificate.issued_at.astimezone(ZoneInfo("Asia/Shanghai")).year)
    data = _create(runner, year)
    rows = rows_of(data["batch"])
    assert [(r.member_id, r.amount_fen, r.certificate_number, r.evidence_title) for r in rows] == [
        (world.zhang.id, 80000, certificate.number, "马铃薯脱毒种薯繁育")]
    assert data["total_yuan"] == "800.00"
    # 李四 and 王五 hold training certificates, not a completed course: this version does not pay them.
    assert _excluded(data)[world.wang.id] == ("rule_not_met", "no_rule")
    assert _excluded(data)[world.li.id] == ("rule_not_met", "no_rule")


def test_a_passed_offline_class_is_the_evidence_and_a_fail_before_approval_takes_the_row_out(world, runner, make_user):
    from sqlalchemy import select

    from courses.models import Programme, Skill
    from lms.subsidies import review
    from lms.skills import services

    trainer = make_user("trainer", region_code=TOWNSHIP, display_name="农技站马老师")
    skill_id = db.session.scalar(select(Skill.id).where(Skill.code == "planting.potato"))
    programme_id = db.session.scalar(select(Programme.id).where(Programme.code == "yulu-short"))
    yulu = services.create_class(title="马铃薯种植实训班", skill_id=skill_id, region_code=TOWNSHIP, trainer=trainer,
                                 starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 9, 5), programme_id=programme_id)
    other = services.create_class(title="村级自办班", skill_id=skill_id, region_code=TOWNSHIP, trainer=trainer,
                                  starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 9, 5))
    added, unknown = services.add_trainees(yulu, [world.zhang.plain_id, world.wang.plain_id], trainer)
    assert unknown == []
    (li,), _ = services.add_trainees(other, [world.li.plain_id], trainer)
    for trainee in (*added, li):
        services.assess(trainee, True, trainer)
    db.session.commit()
    _rule(runner, "class", "1200")
    data = _create(runner, "2026")
    rows = rows_of(data["batch"])
    assert {(r.member_id, r.amount_fen, r.evidence_title, r.result_on) for r in rows} == {
        (world.zhang.id, 120000, "马铃薯种植实训班", dt.date(2026, 9, 5)),
        (world.wang.id, 120000, "马铃薯种植实训班", dt.date(2026, 9, 5))}
    # 李四 passed a class of no programme, and holds a training certificate this version does not ask for.
    assert _excluded(data)[world.li.id] == ("rule_not_met", "no_rule")

    from lms.subsidies.models import Batch

    batch = db.session.get(Batch, data["batch"])
    review.certify(world.village, batch, [r.id for r in rows if r.village_code == VILLAGE])
    review.certify(world.neighbour, batch, [r.id for r in rows if r.village_code == NEIGHBOUR])
    review.submit(world.township, batch)
    wang_trainee = next(t for t in added if t.member_id == world.wang.id)
    services.assess(wang_trainee, False, trainer, note="复核不合格")
    assert review.approve(world.county, batch) == 1
    db.session.commit()
    statuses = {r.member_id: r.status for r in rows_of(batch.id)}
    assert statuses == {world.zhang.id: "certified", world.wang.id: "excluded"}
    # 王五 is free again (no claim holds him); 张三's row still does.
    again = _create(runner, "2026")
    assert again["rows"] == 0
    assert _excluded(again)[world.wang.id] == ("rule_not_met", "no_rule")
    assert _excluded(again)[world.zhang.id] == ("already_paid", "in_batch")
