"""Assigning training from the village list and the household page; what the learner sees; bad input
refused with its reason and nothing created; two officials at once end with one assignment."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from lms.extensions import db
from tests.lms.followup.conftest import VILLAGE, assignments, figures, in_days


def _audit(action: str) -> int:
    from lms.audit.models import AuditEntry

    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_official_assigns_from_the_village_list_and_the_learner_sees_it_first(client, login, world, app):
    login(client, world.village_official)
    page = client.get(f"/followup?region={VILLAGE}").get_data(as_text=True)
    assert "张三" in page and "王五" in page and "张老汉" not in page  # laborers only
    assert "马铃薯种植技术" in page and "安定区电商" not in page  # only what the village is offered
    response = client.post_form("/followup/assign", {"region": VILLAGE, "member": [str(world.zhang.id)],
                                                     "measure": f"course:{world.potato.id}",
                                                     "due_on": in_days(30).isoformat(), "note": "春耕前"})
    assert response.status_code == 303
    rows = assignments()
    assert [(a.member_id, a.course_id, a.assigned_by_id, a.note) for a in rows] == [
        (world.zhang.id, world.potato.id, world.village_official.id, "春耕前")]
    assert _audit("followup.assign") == 1
    listed = client.get(f"/followup?region={VILLAGE}").get_data(as_text=True)
    assert "已为 1 名劳动力安排培训" in listed and "未开始" in listed and "村干部" in listed

    learner_client = app.test_client()
    login(learner_client, world.learner)
    home = learner_client.get("/learn").get_data(as_text=True)
    assert "为你安排的课程" in home and "马铃薯种植技术" in home and in_days(30).isoformat() in home
    assert home.index("为你安排的课程") < home.index("search")  # first on the page, above the search box
    assert "过期限" not in home  # nothing overdue yet


def test_a_learner_not_linked_to_the_registry_sees_nothing_of_it(client, login, world, make_user):
    from lms.followup.services import assign

    assign(None, [world.zhang.id], course_id=world.potato.id, due_on=in_days(10))
    db.session.commit()
    login(client, make_user("learner", region_code=VILLAGE))
    home = client.get("/learn").get_data(as_text=True)
    assert "为你安排的课程" not in home and "马铃薯种植技术" not in home


def test_all_shown_after_a_filter_assigns_exactly_those_rows(client, login, world):
    from lms.followup.services import assign

    assign(None, [world.zhang.id], course_id=world.potato.id, due_on=in_days(10))
    db.session.commit()
    login(client, world.county_official)
    page = client.get(f"/followup?region={VILLAGE}&show=unassigned").get_data(as_text=True)
    assert "李四" in page and "王五" in page
    shown = [str(world.li.id), str(world.wang.id)]
    response = client.post_form("/followup/assign", {"region": VILLAGE, "shown": shown, "scope": "all",
                                                     "measure": f"course:{world.lamian.id}",
                                                     "due_on": in_days(20).isoformat()})
    assert response.status_code == 303
    assert sorted((a.member_id, a.course_id) for a in assignments()) == sorted(
        [(world.zhang.id, world.potato.id), (world.li.id, world.lamian.id), (world.wang.id, world.lamian.id)])
    assert figures(VILLAGE)["assigned"] == 3


def test_assigning_from_the_household_page(client, login, world):
    login(client, world.village_official)
    page = client.get(f"/households/{world.zhang.household_id}").get_data(as_text=True)
    assert "安排培训" in page and "马铃薯种植技术" in page
    back = f"/households/{world.zhang.household_id}"
    response = client.post_form("/followup/assign", {"region": VILLAGE, "member": [str(world.li.id)], "next": back,
                                                     "measure": f"course:{world.lamian.id}",
                                                     "due_on": in_days(5).isoformat()})
    assert response.status_code == 303 and response.headers["Location"].endswith(back)
    page = client.get(back).get_data(as_text=True)
    assert "牛肉拉面" in page and in_days(5).isoformat() in page and "未开始" in page


@pytest.mark.parametrize("case", ["not_offered", "not_laborer", "outside_region", "past_due", "removed", "twice"])
def test_bad_assignments_are_refused_with_their_reason_and_nothing_is_created(client, login, world, case):
    from lms.households.services import remove_member

    member, course, due, expect = world.zhang.id, world.potato.id, in_days(30), None
    if case == "not_offered":
        course, expect = world.elsewhere.id, "此人所在村没有开设这门课程或培训班"
    elif case == "not_laborer":
        member, expect = world.old.id, "此人不是劳动力"
    elif case == "outside_region":
        member, expect = world.sibling.id, "此人不在您的辖区登记"
    elif case == "past_due":
        due, expect = in_days(-1), "完成期限不能早于今天"
    elif case == "removed":
        remove_member(world.zhang, "迁出", None)
        db.session.commit()
        expect = "此人已从建档立卡名单中移除"
    elif case == "twice":
        from lms.followup.services import assign

        assign(None, [member], course_id=course, due_on=due)
        db.session.commit()
        expect = "已给此人安排过这门课程或培训班"
    before = [(a.id, a.due_on) for a in assignments()]
    login(client, world.village_official)
    response = client.post_form("/followup/assign", {"region": VILLAGE, "member": [str(member)],
                                                     "measure": f"course:{course}", "due_on": due.isoformat()},
                                follow_redirects=True)
    body = response.get_data(as_text=True)
    assert expect in body
    assert "赵六" not in body  # a refusal names nobody outside the official's region
    assert [(a.id, a.due_on) for a in assignments()] == before
    assert _audit("followup.assign") == len(before)


def test_two_officials_assigning_the_same_laborer_at_once_make_one_assignment(app, world, monkeypatch):
    """Both pass the duplicate check before either writes; the unique constraint decides."""
    from lms.accounts.models import User
    from lms.followup import services

    barrier = threading.Barrier(2, timeout=30)
    original = services._offered

    def offered_after_both_checked(measure, village):
        barrier.wait()
        return original(measure, village)

    monkeypatch.setattr(services, "_offered", offered_after_both_checked)
    results, errors = [], []

    def officials_request(user_id):
        try:
            with app.app_context():
                result = services.assign(db.session.get(User, user_id), [world.wang.id], course_id=world.lamian.id,
                                         due_on=in_days(14))
                db.session.commit()
                results.append(result.as_json())
        except Exception as exc:  # reported below: a thread's exception must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=officials_request, args=(u.id,))
               for u in (world.village_official, world.county_official)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(r["created"] for r in results) == [0, 1]
    assert [r["skipped"] for r in results if not r["created"]] == [[{"member": world.wang.id,
                                                                    "reason": "already_assigned"}]]
    assert [(a.member_id, a.course_id) for a in assignments()] == [(world.wang.id, world.lamian.id)]
    from lms.stats.rollups import verify

    assert verify() == []


def test_an_assigned_offline_class_shows_its_place_and_dates_to_the_learner(client, login, world, make_user):
    from sqlalchemy import select as sql_select

    from courses.models import Skill
    from lms.followup.services import assign
    from lms.skills.services import create_class

    trainer = make_user("trainer")
    skill = db.session.scalar(sql_select(Skill).where(Skill.code == "ecommerce"))
    here = create_class(title="电商实操班", skill_id=skill.id, region_code="621123100000", starts_on=in_days(3),
                        ends_on=in_days(5), trainer=trainer, place="清源镇文化站")
    there = create_class(title="安定区电商班", skill_id=skill.id, region_code="621102000000", starts_on=in_days(3),
                         ends_on=in_days(5), trainer=trainer, place="安定区")
    db.session.commit()
    refused = assign(world.village_official, [world.zhang.id], class_id=there.id, due_on=in_days(10))
    assert refused.skipped == [(world.zhang.id, "not_offered")] and not refused.created
    made = assign(world.village_official, [world.zhang.id], class_id=here.id, due_on=in_days(10))
    db.session.commit()
    assert len(made.created) == 1
    login(client, world.learner)
    home = client.get("/learn").get_data(as_text=True)
    assert "电商实操班" in home and "清源镇文化站" in home
    assert in_days(3).isoformat() in home and in_days(5).isoformat() in home


def test_the_form_returns_only_to_a_page_of_this_site(client, login, world):
    login(client, world.village_official)
    for target in ("//evil.example/x", "/\\evil.example", "https://evil.example/"):
        response = client.post_form("/followup/assign", {"region": VILLAGE, "member": [str(world.li.id)],
                                                         "next": target, "measure": f"course:{world.lamian.id}",
                                                         "due_on": in_days(5).isoformat()})
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/followup?region={VILLAGE}"), target
