"""Status computed from progress and awards: each source of a skill closes the case, revocation reopens
it; overdue, the learner's reminder and the weekly summary; 暂缓 and its review date. After every
step the roll-ups equal a recount."""
from __future__ import annotations

import datetime as dt

import pytest

from lms.extensions import db
from tests.lms.followup.conftest import VILLAGE, figures, in_days, pass_days


def status_of(member_id: int) -> list[str]:
    from lms.followup.queries import member_assignments

    db.session.expire_all()
    return [r["status"].value for r in member_assignments(member_id)]


def assert_rollups_match_a_recount():
    from lms.stats.rollups import verify

    db.session.expire_all()
    assert verify() == []


def _assign(world, member, course, days=30):
    from lms.followup.services import assign

    result = assign(world.village_official, [member.id], course_id=course.id, due_on=in_days(days))
    db.session.commit()
    assert len(result.created) == 1
    return result.created[0]


def test_course_progress_moves_the_status_and_completion_closes_the_case(client, login, world):
    _assign(world, world.zhang, world.potato)
    assert status_of(world.zhang.id) == ["not_started"]
    assert (figures(VILLAGE)["assigned"], figures("621123000000")["assigned"]) == (1, 1)
    login(client, world.learner)
    first, second = world.potato.lessons
    client.get(f"/learn/lessons/{first.id}")
    client.post_form(f"/learn/lessons/{first.id}/done")
    assert status_of(world.zhang.id) == ["in_progress"]
    home = client.get("/learn").get_data(as_text=True)
    assert "学习中" in home and "50%" in home
    client.get(f"/learn/lessons/{second.id}")
    client.post_form(f"/learn/lessons/{second.id}/done")
    # Completing the course awarded its skill: the case is closed, whatever the threshold's source.
    assert status_of(world.zhang.id) == ["skill_obtained"]
    f = figures(VILLAGE)
    assert (f["with_1"], f["assigned"], f["overdue"]) == (1, 0, 0)
    assert_rollups_match_a_recount()


@pytest.mark.parametrize("source", ["certificate_import", "offline_class", "course_of_another_skill"])
def test_every_source_of_a_skill_closes_the_case_and_revocation_reopens_it(client, login, world, make_user,
                                                                           source):
    from sqlalchemy import select

    from courses.models import Skill
    from lms.skills.models import Evidence, Source
    from lms.skills.services import add_trainees, assess, award_skill, create_class, revoke_award

    _assign(world, world.zhang, world.potato, days=10)
    pass_days(11)
    from lms.followup.services import advance_day

    advance_day()
    db.session.commit()
    assert status_of(world.zhang.id) == ["overdue"]
    assert (figures(VILLAGE)["overdue"], figures("620000000000")["overdue"]) == (1, 1)
    welding = db.session.scalar(select(Skill).where(Skill.code == "ecommerce"))
    if source == "certificate_import":
        award = award_skill(skill_id=welding.id, evidence=Evidence.training_certificate,
                            source=Source.certificate_import, member=world.zhang, awarded_on=dt.date(2024, 5, 1))
    elif source == "offline_class":
        trainer = make_user("trainer")
        klass = create_class(title="电商培训班", skill_id=welding.id, region_code="621123000000",
                             starts_on=dt.date(2024, 5, 1), ends_on=dt.date(2024, 5, 3), trainer=trainer,
                             place="县职教中心")
        (trainee,), _unknown = add_trainees(klass, [world.zhang.plain_id], trainer)
        assess(trainee, True, trainer)
        award = trainee.award
    else:
        login(client, world.learner)
        lesson = world.lamian.lessons[0]
        client.get(f"/learn/lessons/{lesson.id}")
        client.post_form(f"/learn/lessons/{lesson.id}/done")
        from lms.skills.models import SkillAward

        award = db.session.scalar(select(SkillAward).where(SkillAward.course_id == world.lamian.id))
    db.session.commit()
    # A skill from any source reaches the goal threshold (1): the potato case is closed.
    assert status_of(world.zhang.id) == ["skill_obtained"]
    f = figures(VILLAGE)
    assert (f["with_1"], f["assigned"], f["overdue"], f["laborers"] - f["with_1"]) == (1, 0, 0, 2)
    assert_rollups_match_a_recount()
    revoke_award(db.session.get(type(award), award.id), "证书有误", None)
    db.session.commit()
    assert status_of(world.zhang.id) == ["overdue"]
    f = figures(VILLAGE)
    assert (f["with_1"], f["assigned"], f["overdue"]) == (0, 1, 1)
    assert_rollups_match_a_recount()


def test_with_a_threshold_of_two_one_skill_leaves_the_case_open(world):
    from sqlalchemy import select

    from courses.models import Skill
    from lms.settings import set_setting
    from lms.skills.models import Evidence, Source
    from lms.skills.services import award_skill

    set_setting("stats.goal_threshold", 2)
    db.session.commit()
    _assign(world, world.zhang, world.potato)
    _assign(world, world.zhang, world.lamian, days=40)
    _assign(world, world.wang, world.lamian, days=40)
    lamian = db.session.scalar(select(Skill).where(Skill.code == "cooking.lamian"))
    award_skill(skill_id=lamian.id, evidence=Evidence.training_certificate, source=Source.certificate_import,
                member=world.zhang, awarded_on=dt.date(2024, 5, 1))
    db.session.commit()
    # The lamian skill answers the lamian assignment only; 1 < 2 leaves the potato one open.
    assert status_of(world.zhang.id) == ["not_started", "skill_obtained"]
    assert status_of(world.wang.id) == ["not_started"]
    f = figures(VILLAGE)
    assert (f["with_1"], f["with_2"], f["assigned"], f["laborers"] - f["with_2"]) == (1, 0, 2, 3)
    assert_rollups_match_a_recount()


def test_overdue_reminds_the_learner_first_and_shows_in_the_officials_weekly_summary(client, login, world, app):
    _assign(world, world.zhang, world.potato, days=3)
    _assign(world, world.wang, world.lamian, days=20)
    pass_days(5)
    from lms.followup.services import advance_day

    assert advance_day() == 1  # one village's figures moved
    db.session.commit()
    assert advance_day() == 0  # once a day
    f = figures(VILLAGE)
    assert (f["assigned"], f["overdue"]) == (2, 1)
    assert_rollups_match_a_recount()
    login(client, world.learner)
    home = client.get("/learn").get_data(as_text=True)
    assert "为你安排的课程中有 1 门已过期限，请尽快学完" in home
    assert home.index("请尽快学完") < home.index("为你安排的课程</h2>") and "逾期" in home
    official = app.test_client()
    login(official, world.county_official)
    dashboard = official.get("/stats/skills").get_data(as_text=True)
    assert "近 7 天新增逾期: 1" in dashboard and "示例一村" in dashboard
    village = official.get(f"/followup?region={VILLAGE}&show=overdue").get_data(as_text=True)
    assert "张三" in village and "王五" not in village
    # A skill closes the case: the summary drops it on the next view (its cache follows the figures).
    from sqlalchemy import select

    from courses.models import Skill
    from lms.skills.models import Evidence, Source
    from lms.skills.services import award_skill

    skill = db.session.scalar(select(Skill).where(Skill.code == "ecommerce"))
    award_skill(skill_id=skill.id, evidence=Evidence.training_certificate, source=Source.certificate_import,
                member=world.zhang, awarded_on=dt.date(2024, 5, 1))
    db.session.commit()
    assert "近 7 天新增逾期: 0" in official.get("/stats/skills").get_data(as_text=True)


def test_deferral_keeps_the_denominator_and_ends_after_the_review_date(client, login, world):
    login(client, world.village_official)
    before = figures(VILLAGE)
    response = client.post_form(f"/followup/members/{world.wang.id}/defer",
                                {"reason": "working_away", "review_on": in_days(3).isoformat()})
    assert response.status_code == 303
    f = figures(VILLAGE)
    assert (f["laborers"], f["with_1"], f["coverage_1"], f["deferred"]) == (
        before["laborers"], before["with_1"], before["coverage_1"], 1)
    page = client.get(f"/followup?region={VILLAGE}").get_data(as_text=True)
    deferred = page[page.index('id="deferred"'):]
    assert "王五" in deferred and "外出务工" in deferred and in_days(3).isoformat() in deferred
    assert "王五" not in page[page.index('id="open-cases"'):page.index('id="deferred"')]
    assert_rollups_match_a_recount()
    pass_days(3)  # the review date is today: still deferred
    from lms.followup.services import advance_day

    advance_day()
    db.session.commit()
    assert figures(VILLAGE)["deferred"] == 1
    pass_days(1)  # the day after the review date: back on the open list
    advance_day()
    db.session.commit()
    assert figures(VILLAGE)["deferred"] == 0
    page = client.get(f"/followup?region={VILLAGE}").get_data(as_text=True)
    assert "王五" in page[page.index('id="open-cases"'):page.index('id="deferred"')]
    assert_rollups_match_a_recount()


@pytest.mark.parametrize("form, message", [
    ({"reason": "other", "review_on": "+5"}, "选择“其他”时请写明原因"),
    ({"reason": "holiday", "review_on": "+5"}, "请从列表中选择原因"),
    ({"reason": "illness", "review_on": "-1"}, "复核日期不能早于今天"),
    ({"reason": "illness", "review_on": "2025-13-40"}, "日期请写成"),
    ({"reason": "illness", "review_on": ""}, "请填写复核日期"),
])
def test_bad_deferrals_are_refused_and_change_nothing(client, login, world, form, message):
    from sqlalchemy import func, select

    from lms.followup.models import Deferral

    review = form["review_on"]
    if review[:1] in "+-" and review:
        form = dict(form, review_on=in_days(int(review)).isoformat())
    login(client, world.village_official)
    response = client.post_form(f"/followup/members/{world.wang.id}/defer", form)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Deferral)) == 0
    assert figures(VILLAGE)["deferred"] == 0


def test_other_with_text_and_ending_early(client, login, world):
    login(client, world.village_official)
    client.post_form(f"/followup/members/{world.li.id}/defer",
                     {"reason": "other", "reason_text": "照顾病人", "review_on": in_days(60).isoformat()})
    page = client.get(f"/followup?region={VILLAGE}").get_data(as_text=True)
    assert "其他：照顾病人" in page
    assert figures(VILLAGE)["deferred"] == 1
    response = client.post_form(f"/followup/members/{world.li.id}/resume")
    assert response.status_code == 303
    assert figures(VILLAGE)["deferred"] == 0
    assert_rollups_match_a_recount()
