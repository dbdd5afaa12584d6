"""Fixtures of the follow-up tests: a village with laborers, courses offered there or elsewhere,
officials of the village, its county and a sibling township, and a learner linked to a laborer."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from lms.extensions import db
from tests.lms.stats.factories import make_household, make_member

VILLAGE = "621123100201"       # 示例一村, 清源镇
NEIGHBOUR = "621123100202"     # 示例二村, 清源镇
SIBLING_VILLAGE = "621123101201"  # 示例三村, 莲峰镇 (the sibling township)
OTHER_COUNTY_VILLAGE = "621102100201"  # 示例五村, 安定区


def make_course(title: str, skill_code: str, regions=(), lessons: int = 1, published: bool = True):
    from sqlalchemy import select

    from courses.models import Course, CourseRegion, Lesson, LessonKind, Programme, Skill
    from lms.regions.models import Region

    programme = db.session.scalar(select(Programme).where(Programme.code == "yulu-short"))
    skill = db.session.scalar(select(Skill).where(Skill.code == skill_code))
    course = Course(title=title, summary="", programme_id=programme.id, skill_id=skill.id, published=published)
    db.session.add(course)
    db.session.flush()
    for n in range(1, lessons + 1):
        db.session.add(Lesson(course_id=course.id, position=n, title=f"第{n}课", kind=LessonKind.text, body="正文",
                              required=True))
    for code in regions:
        db.session.add(CourseRegion(course_id=course.id, region_code=code, prefix=db.session.get(Region, code).prefix))
    db.session.flush()
    return course


@pytest.fixture
def world(regions, make_user):
    from courses.services import seed_catalogue
    from lms.settings import set_setting

    seed_catalogue()
    set_setting("learning.document_seconds", 0)
    h1, h2 = make_household(VILLAGE), make_household(VILLAGE)
    zhang = make_member(h1, name="张三", birth_ymd=19800601)
    li = make_member(h1, name="李四", birth_ymd=19850301, relation="02")
    old = make_member(h1, name="张老汉", birth_ymd=19400101, relation="11")  # 84: not a laborer
    wang = make_member(h2, name="王五", birth_ymd=19900101)
    sibling = make_member(make_household(SIBLING_VILLAGE), name="赵六", birth_ymd=19900101)
    potato = make_course("马铃薯种植技术", "planting.potato", regions=("621123000000",), lessons=2)
    lamian = make_course("牛肉拉面", "cooking.lamian")  # offered everywhere
    elsewhere = make_course("安定区电商", "ecommerce", regions=("621102000000",))
    db.session.commit()
    village_official = make_user("official", region_code=VILLAGE, display_name="村干部")
    county_official = make_user("official", region_code="621123000000", display_name="县干部")
    sibling_official = make_user("official", region_code="621123101000", display_name="莲峰镇干部")
    learner = make_user("learner", region_code=VILLAGE)
    learner.member_id = zhang.id
    db.session.commit()
    return SimpleNamespace(zhang=zhang, li=li, old=old, wang=wang, sibling=sibling, potato=potato, lamian=lamian,
                           elsewhere=elsewhere, village_official=village_official, county_official=county_official,
                           sibling_official=sibling_official, learner=learner)


def in_days(n: int) -> dt.date:
    from lms.followup.status import today

    return today() + dt.timedelta(days=n)


def assignments() -> list:
    from sqlalchemy import select

    from lms.followup.models import Assignment

    db.session.expire_all()
    return list(db.session.scalars(select(Assignment).order_by(Assignment.id)))


def figures(code: str) -> dict:
    from lms.regions.models import Region
    from lms.stats.queries import api_payload

    db.session.expire_all()
    return api_payload(db.session.get(Region, code))


def pass_days(n: int) -> None:
    """Time passes: every due and review date moves ``n`` days into the past, as the calendar would."""
    from sqlalchemy import func, literal_column, update

    from lms.followup.models import Assignment, Deferral, RollupDay

    for model, column in ((Assignment, Assignment.due_on), (Deferral, Deferral.review_on), (RollupDay, RollupDay.day)):
        if db.engine.dialect.name == "postgresql":
            shifted = column - literal_column(str(int(n)))
        else:
            shifted = func.date(column, f"-{int(n)} days")
        db.session.execute(update(model).values({column.key: shifted}))
    db.session.commit()
