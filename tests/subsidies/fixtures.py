"""Fixtures of the subsidy tests (a pytest plugin, tests/conftest.py: the every-page test uses them too): a township (清源镇) with two villages of registered households,
members holding 雨露计划 certificates, accounts, the short-training rule, and officials of a village,
the township, the county (two of them, for four eyes) and a sibling township."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from lms.extensions import db
from tests.lms.stats.factories import make_household, make_member

TOWNSHIP = "621123100000"      # 清源镇
VILLAGE = "621123100201"       # 示例一村
NEIGHBOUR = "621123100202"     # 示例二村
SIBLING_TOWNSHIP = "621123101000"  # 莲峰镇
SIBLING_VILLAGE = "621123101201"
COUNTY = "621123000000"
DAY = dt.date(2026, 5, 20)


def certify(member, day=DAY, programme="yulu-short", number=None):
    """A 培训合格证书 issued under the programme (as the certificate import records it)."""
    from sqlalchemy import select

    from courses.models import Programme, Skill
    from lms.skills.models import Evidence, Source
    from lms.skills.services import award_skill

    programme_id = db.session.scalar(select(Programme.id).where(Programme.code == programme))
    skill_id = db.session.scalar(select(Skill.id).where(Skill.code == "planting.potato"))
    award = award_skill(skill_id=skill_id, evidence=Evidence.training_certificate, source=Source.certificate_import,
                        member=member, awarded_on=day, certificate_number=number or f"YL{member.id:06d}",
                        programme_id=programme_id, refresh=False)
    db.session.flush()
    return award


def give_account(member, number=None, bank="甘肃省农村信用社"):
    from lms.subsidies.accounts import set_account

    account, _ = set_account(None, member.household_id, member.id, member.name, bank,
                             number or f"62270000{member.id:010d}")
    return account


@pytest.fixture
def subsidy_rule(app):
    from courses.services import seed_catalogue
    from lms.subsidies.rules import set_rule

    seed_catalogue()
    made = set_rule(None, strand="short-training", programme="yulu-short", amount_fen=150000,
                    evidence="certificate", min_age=16, max_age=45, per="year")
    db.session.commit()
    return made


@pytest.fixture
def subsidy_world(regions, make_user, subsidy_rule):
    h1, h2, h3 = make_household(VILLAGE), make_household(NEIGHBOUR), make_household(SIBLING_VILLAGE)
    zhang = make_member(h1, name="张三", birth_ymd=19900601)
    li = make_member(h1, name="李四", birth_ymd=19920301, relation="02")
    wang = make_member(h2, name="王五", birth_ymd=19950101)
    zhao = make_member(h3, name="赵六", birth_ymd=19900101)
    for person in (zhang, li, wang, zhao):
        certify(person)
    for person in (zhang, wang, zhao):
        give_account(person)
    db.session.commit()
    officials = {
        "village": make_user("official", region_code=VILLAGE, display_name="一村干部"),
        "neighbour": make_user("official", region_code=NEIGHBOUR, display_name="二村干部"),
        "township": make_user("official", region_code=TOWNSHIP, display_name="清源镇干部"),
        "county": make_user("official", region_code=COUNTY, display_name="县扶贫办甲"),
        "county2": make_user("official", region_code=COUNTY, display_name="县扶贫办乙"),
        "sibling": make_user("official", region_code=SIBLING_TOWNSHIP, display_name="莲峰镇干部"),
    }
    learner = make_user("learner", region_code=VILLAGE)
    learner.member_id = zhang.id
    db.session.commit()
    return SimpleNamespace(zhang=zhang, li=li, wang=wang, zhao=zhao, rule=subsidy_rule, learner=learner, **officials)


def rows_of(batch_id: int) -> list:
    from sqlalchemy import select

    from lms.subsidies.models import Row

    db.session.expire_all()
    return list(db.session.scalars(select(Row).where(Row.batch_id == batch_id).order_by(Row.id)))


def audit_actions(prefix: str = "subsidies.") -> list[str]:
    from sqlalchemy import select

    from lms.audit.models import AuditEntry

    return list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.startswith(prefix))
                                   .order_by(AuditEntry.id)))


@pytest.fixture
def subsidy_on_notice(subsidy_world):
    """A batch of 清源镇 certified by its villages, submitted, approved and on public notice, with one
    objection: every page of the area has something to show."""
    from lms.subsidies import review
    from lms.subsidies.batches import create_batch

    w = subsidy_world
    batch, _proposal = create_batch(w.township, TOWNSHIP, "short-training", "2026")
    rows = rows_of(batch.id)
    review.certify(w.village, batch, [r.id for r in rows if r.village_code == VILLAGE])
    review.certify(w.neighbour, batch, [r.id for r in rows if r.village_code == NEIGHBOUR])
    review.submit(w.township, batch)
    review.approve(w.county, batch)
    review.raise_objection(w.county, batch, rows[0].id, "群众反映未参加培训")
    db.session.commit()
    return SimpleNamespace(batch=batch, household=w.zhang.household, world=w)


def approved_batch(world, on=dt.date(2026, 6, 1)):
    """A batch of 清源镇 certified by both villages, submitted by the township and approved by the county."""
    from lms.subsidies import review
    from lms.subsidies.batches import create_batch

    batch, _proposal = create_batch(world.township, TOWNSHIP, "short-training", "2026")
    rows = rows_of(batch.id)
    review.certify(world.village, batch, [r.id for r in rows if r.village_code == VILLAGE])
    review.certify(world.neighbour, batch, [r.id for r in rows if r.village_code == NEIGHBOUR])
    review.submit(world.township, batch)
    review.approve(world.county, batch, on=on)
    db.session.commit()
    return batch
