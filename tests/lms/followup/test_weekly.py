"""The officials' weekly summary (cases that became overdue in the last 7 days) is a roll-up: kept by
every change and by the daily job as assignments enter and leave the 7 days, checked by
``flask stats verify``, and read in one statement whatever the region's size."""
from __future__ import annotations

from types import SimpleNamespace

from lms.extensions import db
from tests.lms.followup.conftest import SIBLING_VILLAGE, VILLAGE, in_days, pass_days


def week(code: str) -> tuple[int, list]:
    from lms.followup.queries import weekly_overdue
    from lms.regions.models import Region

    db.session.expire_all()
    summary = weekly_overdue(db.session.get(Region, code))
    return summary["total"], [(v["name"], v["count"]) for v in summary["villages"]]


def next_days(n: int) -> None:
    from lms.followup.services import advance_day
    from lms.stats.rollups import verify

    pass_days(n)
    advance_day()
    db.session.commit()
    db.session.expire_all()
    assert verify() == []


def test_the_summary_follows_the_week_and_the_cases(world):
    from lms.followup.services import assign, defer

    assign(world.county_official, [world.zhang.id, world.li.id, world.sibling.id], course_id=world.lamian.id,
           due_on=in_days(2))
    assign(world.county_official, [world.zhang.id], course_id=world.potato.id, due_on=in_days(6))
    db.session.commit()
    assert week("620000000000") == (0, [])
    next_days(3)  # the lamian assignments are one day overdue
    assert week("620000000000") == (3, [("示例一村", 2), ("示例三村", 1)])
    assert week("621123101000") == (1, [("示例三村", 1)])
    assert week(VILLAGE) == (2, [("示例一村", 2)])
    defer(world.county_official, world.li.id, reason="frail", review_on=in_days(60))
    db.session.commit()
    assert week("621123000000") == (2, [("示例一村", 1), ("示例三村", 1)])
    next_days(4)  # potato overdue too: 张三 counts twice
    assert week(VILLAGE) == (2, [("示例一村", 2)])
    next_days(4)  # lamian due 8 days ago: out of the week; potato still in it
    assert week("620000000000") == (1, [("示例一村", 1)])
    assert week(SIBLING_VILLAGE) == (0, [])
    next_days(4)
    assert week("620000000000") == (0, [])


def test_the_summary_is_one_statement_however_many_villages(world, count_queries):
    from lms.followup.queries import weekly_overdue
    from lms.followup.services import assign
    from lms.regions.models import Region

    assign(world.county_official, [world.zhang.id, world.sibling.id], course_id=world.lamian.id, due_on=in_days(1))
    db.session.commit()
    next_days(2)
    region = db.session.get(Region, "620000000000")
    province = SimpleNamespace(code=region.code, prefix=region.prefix, level=region.level)
    weekly_overdue(province)  # warm: the goal's settings are cached
    with count_queries() as statements:
        summary = weekly_overdue(province)
    assert summary["total"] == 2 and len(statements) == 1
    assert "members" not in statements[0] and "followup_assignments" not in statements[0]
