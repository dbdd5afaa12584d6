"""Every path that takes assignments out of the figures moves the roll-ups in its own transaction:
deleting a course or an offline class (their assignments go with them), removing a member, moving a
household. After each, the stored figures equal a recount and no village waits for the recount job."""
from __future__ import annotations

from sqlalchemy import func, select

from lms.extensions import db
from tests.lms.followup.conftest import NEIGHBOUR, SIBLING_VILLAGE, VILLAGE, assignments, figures, in_days, pass_days


def assert_current():
    """Figures equal a recount, and nothing was left for the refresh job to put right."""
    from lms.stats.models import DirtyVillage
    from lms.stats.rollups import verify

    db.session.expire_all()
    assert verify() == []
    assert db.session.scalar(select(func.count()).select_from(DirtyVillage)) == 0


def cases(code: str) -> tuple[int, int, int]:
    f = figures(code)
    return f["assigned"], f["overdue"], f["deferred"]


def _overdue_campaign(world):
    """Lamian for the three laborers of the village and the one of the sibling township (overdue),
    potato for 张三 (not yet due), 王五 deferred."""
    from lms.followup.services import advance_day, assign, defer

    assert len(assign(world.county_official, [world.zhang.id, world.li.id, world.wang.id, world.sibling.id],
                      course_id=world.lamian.id, due_on=in_days(1)).created) == 4
    db.session.commit()
    pass_days(3)
    advance_day()
    assert len(assign(world.county_official, [world.zhang.id], course_id=world.potato.id,
                      due_on=in_days(20)).created) == 1
    defer(world.county_official, world.wang.id, reason="frail", review_on=in_days(30))
    db.session.commit()
    assert cases(VILLAGE) == (2, 2, 1)
    assert cases("621123000000") == (3, 3, 1)
    assert_current()


def test_deleting_a_course_takes_its_assignments_out_of_every_level(world):
    _overdue_campaign(world)
    db.session.delete(world.lamian)
    db.session.commit()
    assert [(a.member_id, a.course_id) for a in assignments()] == [(world.zhang.id, world.potato.id)]
    # 张三 keeps the potato case (not overdue), 李四 and 赵六 have none left; 王五 stays 暂缓.
    assert cases(VILLAGE) == (1, 0, 1)
    assert cases(SIBLING_VILLAGE) == (0, 0, 0)
    assert cases("621123000000") == (1, 0, 1)
    assert cases("620000000000") == (1, 0, 1)
    assert_current()


def test_deleting_an_offline_class_takes_its_assignments_out_of_the_figures(world, make_user):
    from courses.models import Skill
    from lms.followup.services import assign
    from lms.skills.services import create_class

    skill = db.session.scalar(select(Skill).where(Skill.code == "ecommerce"))
    klass = create_class(title="电商实操班", skill_id=skill.id, region_code="621123000000", starts_on=in_days(3),
                         ends_on=in_days(5), trainer=make_user("trainer"), place="县职教中心")
    db.session.commit()
    made = assign(world.county_official, [world.li.id, world.sibling.id], class_id=klass.id, due_on=in_days(10))
    assert len(made.created) == 2
    db.session.commit()
    assert cases("621123000000") == (2, 0, 0)
    assert_current()
    db.session.delete(klass)
    db.session.commit()
    assert assignments() == []
    assert cases(VILLAGE) == cases(SIBLING_VILLAGE) == cases("621123000000") == (0, 0, 0)
    assert_current()


def test_a_failed_delete_moves_nothing(world):
    """The figures move with the delete's transaction: rolled back together."""
    from lms.followup.services import assign

    assign(world.county_official, [world.li.id], course_id=world.lamian.id, due_on=in_days(5))
    db.session.commit()
    db.session.delete(world.lamian)
    db.session.flush()
    db.session.rollback()
    assert len(assignments()) == 1 and cases(VILLAGE) == (1, 0, 0)
    assert_current()


def test_removing_a_member_moves_the_case_figures_at_once(world):
    from lms.households.services import remove_member

    _overdue_campaign(world)
    remove_member(world.zhang, "迁出", world.village_official)
    db.session.commit()
    assert cases(VILLAGE) == (1, 1, 1)
    assert cases("620000000000") == (2, 2, 1)
    remove_member(world.wang, "死亡", world.village_official)
    db.session.commit()
    assert cases(VILLAGE) == (1, 1, 0)
    assert_current()


def test_moving_a_household_moves_its_cases_between_villages(world):
    from lms.households.services import move_household

    _overdue_campaign(world)
    move_household(world.zhang.household, NEIGHBOUR, world.county_official)
    db.session.commit()
    # 张三 and 李四 (overdue) live in the neighbouring village now; 王五's household stayed.
    assert cases(VILLAGE) == (0, 0, 1)
    assert cases(NEIGHBOUR) == (2, 2, 0)
    assert cases("621123100000") == (2, 2, 1)
    assert_current()
