"""The campaign CLI with its exit codes; the figures in the API, the CLI JSON, the dashboard and the
exports; roll-ups equal to a recount after a mixed sequence of changes (``flask stats verify``)."""
from __future__ import annotations

import datetime as dt
import io
import json

from lms.extensions import db
from tests.lms.followup.conftest import VILLAGE, assignments, figures, in_days, pass_days


def _assign_cli(runner, *args):
    result = runner.invoke(args=["followup", "assign", *map(str, args), "--json"])
    db.session.expire_all()
    return result.exit_code, (json.loads(result.output) if result.output.strip() else None)


def test_campaign_assigns_every_open_laborer_of_a_village(runner, world):
    from lms.followup.services import defer

    defer(None, world.li.id, reason="working_away", review_on=in_days(30))
    db.session.commit()
    due = in_days(60).isoformat()
    code, out = _assign_cli(runner, "--course", world.potato.id, "--village", VILLAGE, "--all-without-skill",
                            "--due", due, "--by", world.county_official.username)
    assert (code, out) == (0, {"created": 2, "skipped": []})  # 张三 and 王五; 李四 is 暂缓, 张老汉 no laborer
    assert sorted(a.member_id for a in assignments()) == sorted([world.zhang.id, world.wang.id])
    assert all(a.assigned_by_id == world.county_official.id for a in assignments())
    code, out = _assign_cli(runner, "--course", world.potato.id, "--village", VILLAGE, "--all-without-skill",
                            "--due", due)
    assert code == 1 and out["created"] == 0
    assert sorted(s["member"] for s in out["skipped"]) == sorted([world.zhang.id, world.wang.id])
    assert {s["reason"] for s in out["skipped"]} == {"already_assigned"}
    assert figures("621123000000")["assigned"] == 2


def test_campaign_by_member_reports_each_refusal(runner, world):
    code, out = _assign_cli(runner, "--course", world.lamian.id, "--member", world.zhang.id, "--member",
                            world.old.id, "--member", world.sibling.id, "--member", 999999,
                            "--due", in_days(7).isoformat(), "--by", world.village_official.username)
    assert code == 1 and out["created"] == 1
    assert out["skipped"] == [{"member": world.old.id, "reason": "not_laborer"},
                              {"member": world.sibling.id, "reason": "out_of_scope"},
                              {"member": 999999, "reason": "unknown_member"}]
    assert [a.member_id for a in assignments()] == [world.zhang.id]


def test_campaign_unusable_input_creates_nothing(runner, world):
    cases = [
        ("--course", world.potato.id, "--member", world.zhang.id, "--due", in_days(-1).isoformat()),
        ("--course", world.potato.id, "--member", world.zhang.id, "--due", "2025/06/30"),
        ("--course", 424242, "--member", world.zhang.id, "--due", in_days(3).isoformat()),
        ("--course", world.potato.id, "--village", VILLAGE, "--all-without-skill", "--due", in_days(3).isoformat(),
         "--by", world.sibling_official.username),
        ("--course", world.potato.id, "--village", VILLAGE, "--due", in_days(3).isoformat()),
        ("--course", world.potato.id, "--member", world.zhang.id, "--due", in_days(3).isoformat(), "--by", "nobody"),
    ]
    for args in cases:
        code, out = _assign_cli(runner, *args)
        assert code == 2 and "error" in out, args
    assert assignments() == []


def test_api_cli_dashboard_and_exports_carry_the_case_figures(client, login, world, runner):
    from openpyxl import load_workbook

    from lms.followup.services import assign, defer

    assign(world.county_official, [world.zhang.id, world.wang.id], course_id=world.potato.id, due_on=in_days(2))
    defer(world.county_official, world.li.id, reason="in_school", review_on=in_days(90))
    db.session.commit()
    pass_days(3)
    from lms.followup.services import advance_day

    advance_day()
    db.session.commit()
    login(client, world.county_official)
    api = client.get("/api/v1/stats/skills?region=621123000000").get_json()
    assert (api["assigned"], api["overdue"], api["deferred"]) == (2, 2, 1)
    children = {c["region"]: c for c in api["children"]}
    assert (children["621123100000"]["assigned"], children["621123100000"]["deferred"]) == (2, 1)
    assert (children["621123101000"]["assigned"], children["621123101000"]["overdue"]) == (0, 0)
    cli = runner.invoke(args=["stats", "skills", "--region", "621123000000", "--json"])
    assert json.loads(cli.output) == api
    page = client.get("/stats/skills?region=621123000000").get_data(as_text=True)
    assert "其中已安排培训" in page and "其中逾期" in page and "暂缓" in page
    book = load_workbook(io.BytesIO(client.get("/stats/skills.xlsx?region=621123000000").data))
    rows = list(book.active.values)
    header = rows[1]
    own = dict(zip(header, rows[2]))
    assert (own["其中已安排培训"], own["其中逾期"], own["暂缓"]) == (2, 2, 1)
    cases = load_workbook(io.BytesIO(client.get("/followup/cases.xlsx?region=621123000000").data))
    rows = list(cases.active.values)
    assert rows[1] == ("村", "户编号", "姓名", "措施（课程或培训班）", "安排人", "完成期限", "状态", "复核日期", "备注")
    by_name = {r[2]: r for r in rows[2:]}
    assert set(by_name) == {"张三", "王五", "李四"}
    assert by_name["张三"][3:7] == ("马铃薯种植技术", "县干部", in_days(-1).isoformat(), "逾期")
    assert by_name["李四"][6].startswith("暂缓") and "在校就读" in by_name["李四"][6]
    assert by_name["李四"][7] == in_days(87).isoformat()


def test_rollups_equal_a_recount_after_a_mixed_sequence(runner, world, make_user):
    from sqlalchemy import select

    from courses.models import Skill
    from lms.followup.services import advance_day, assign, cancel, defer, end_deferral
    from lms.skills.models import Evidence, Source
    from lms.skills.services import award_skill, revoke_award

    def verify():
        db.session.expire_all()
        result = runner.invoke(args=["stats", "verify"])
        assert result.exit_code == 0, result.output

    skill = db.session.scalar(select(Skill).where(Skill.code == "ecommerce"))
    made = assign(world.village_official, [world.zhang.id, world.li.id, world.wang.id],
                  course_id=world.lamian.id, due_on=in_days(1)).created
    db.session.commit()
    verify()
    defer(world.village_official, world.wang.id, reason="frail", review_on=in_days(2))
    db.session.commit()
    verify()
    award = award_skill(skill_id=skill.id, evidence=Evidence.qualification, source=Source.certificate_import,
                        member=world.li, awarded_on=dt.date(2024, 1, 2))
    db.session.commit()
    verify()
    pass_days(2)
    advance_day()
    db.session.commit()
    verify()
    revoke_award(award, "重复登记", world.county_official)
    cancel(world.village_official, made[0])
    db.session.commit()
    verify()
    pass_days(1)
    advance_day()
    end_deferral(world.county_official, world.wang.id)
    db.session.commit()
    verify()
    f = figures(VILLAGE)
    assert (f["assigned"], f["overdue"], f["deferred"]) == (2, 2, 0)
    # And a recount from nothing (flask stats rebuild) gives the very same figures.
    assert runner.invoke(args=["stats", "rebuild"]).exit_code == 0
    assert figures(VILLAGE) == f


def test_stats_verify_reports_a_case_figure_that_drifted(runner, world):
    from sqlalchemy import update

    from lms.followup.services import assign
    from lms.stats.models import SkillRollup

    assign(None, [world.zhang.id], course_id=world.potato.id, due_on=in_days(9))
    db.session.commit()
    assert runner.invoke(args=["stats", "verify"]).exit_code == 0
    db.session.execute(update(SkillRollup).where(SkillRollup.region_code == VILLAGE).values(assigned_1=7))
    db.session.commit()
    result = runner.invoke(args=["stats", "verify"])
    assert result.exit_code == 1
    assert f"{VILLAGE} assigned_1: stored=7 recount=1" in result.output
