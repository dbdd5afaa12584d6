"""The laborer rule (DOMAIN.md §1) as one SQL condition, with its settings."""
import pytest
from sqlalchemy import select

from lms.households.models import Member
from lms.households.queries import LaborerRule, laborer_condition, laborers
from lms.households.importing.run import import_households
from lms.settings import set_setting

from .records import make_id, row


def people(db):
    return {m.name for m in db.session.scalars(laborers())}


@pytest.fixture
def household(regions, export, db):
    """Record year 2024, as-of 12-31: ages counted on 2024-12-31."""
    rows = [
        row("H1", "户主", make_id("19800101", 1), "户主"),
        row("H1", "刚满16", make_id("20081231", 3), "之子", student=""),
        row("H1", "差一天16", make_id("20090101", 5), "之子"),
        row("H1", "差一天60", make_id("19650101", 7), "之父"),
        row("H1", "刚满60", make_id("19641231", 8), "之母"),
        row("H1", "学生", make_id("20060505", 9), "之子", education="", student="普通高中三年级"),
        row("H1", "技能", make_id("19900101", 11), "之兄弟姐妹", "技能劳动力"),
        row("H1", "弱", make_id("19900102", 13), "之兄弟姐妹", "弱劳动力或半劳动力"),
        row("H1", "丧失", make_id("19900103", 15), "之兄弟姐妹", "丧失劳动力"),
        row("H1", "无", make_id("19900104", 17), "之兄弟姐妹", "无劳动力"),
    ]
    report = import_households(export(rows))
    assert report.exit_code == 0, report.errors
    db.session.commit()


def test_default_rule_at_the_record_years_as_of_date(household, db):
    assert people(db) == {"户主", "刚满16", "差一天60", "技能", "弱"}


def test_settings_move_the_rule(household, db):
    set_setting("households.laborer_max_age", 65)
    set_setting("households.laborer_capacities", "1,2")
    set_setting("households.laborer_as_of", "01-01")  # on 2024-01-01 刚满16 is 15
    db.session.commit()
    assert people(db) == {"户主", "差一天60", "刚满60", "技能"}


def test_removed_members_are_not_laborers(household, db):
    from lms.households.services import remove_member

    member = db.session.scalar(select(Member).where(Member.name == "技能"))
    remove_member(member, "迁出", None)
    db.session.commit()
    assert "技能" not in people(db)


def test_the_condition_composes_into_counts(household, db):
    from sqlalchemy import func

    rule = LaborerRule(16, 60, ("1",), (12, 31))
    count = db.session.scalar(select(func.count(Member.id)).join(Member.household)
                              .where(laborer_condition(rule)))
    assert count == 3  # 户主, 刚满16, 差一天60 are 普通劳动力
