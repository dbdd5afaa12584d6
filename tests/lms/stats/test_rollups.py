"""The skill-goal figures: laborer rule, distinct skills, household unit, revocation, and roll-ups that
always equal a recount."""
from __future__ import annotations

import pytest

from lms.extensions import db
from tests.lms.stats.factories import award, make_household, make_member, make_skill

VILLAGE = "621123100201"
OTHER_VILLAGE = "621123101201"


def figures(code: str) -> dict:
    from lms.regions.models import Region
    from lms.stats.queries import api_payload

    return api_payload(db.session.get(Region, code))


def assert_consistent():
    from lms.stats.rollups import verify

    assert verify() == []


@pytest.mark.parametrize("birth, labour, student, is_laborer", [
    (20081231, "1", None, True),    # 16 exactly on the as-of date 2024-12-31
    (20090101, "1", None, False),   # turns 16 the day after: 15
    (19650101, "1", None, True),    # 59 on the as-of date
    (19641231, "1", None, False),   # 60 exactly: no longer a laborer
    (19900101, "2", None, True),    # 技能劳动力
    (19900101, "3", None, True),    # 弱劳动力或半劳动力
    (19900101, "4", None, False),   # 丧失劳动力
    (19900101, "5", None, False),   # 无劳动力
    (20050301, "1", "09", False),   # 中职一年级: a current student
])
def test_laborer_rule_edges(regions, birth, labour, student, is_laborer):
    household = make_household(VILLAGE, year=2024)
    make_member(household, birth_ymd=birth, labour=labour, student=student)
    from lms.stats.rollups import refresh_villages

    refresh_villages([VILLAGE])
    db.session.commit()
    assert figures(VILLAGE)["laborers"] == (1 if is_laborer else 0)
    assert figures("620000000000")["laborers"] == (1 if is_laborer else 0)
    assert_consistent()


def test_duplicate_awards_of_one_skill_count_once(regions):
    potato, cattle = make_skill("potato", "马铃薯种植"), make_skill("cattle", "肉牛养殖")
    member = make_member(make_household(VILLAGE))
    award(member, potato, "2024-03-01")
    award(member, potato, "2024-04-01", certificate_number="A-2")
    db.session.commit()
    f = figures(VILLAGE)
    assert (f["laborers"], f["with_1"], f["with_2"]) == (1, 1, 0)
    award(member, cattle, "2024-05-01")
    db.session.commit()
    f = figures("621123000000")
    assert (f["laborers"], f["with_1"], f["with_2"], f["coverage_2"]) == (1, 1, 1, 1.0)
    assert_consistent()


def test_household_unit_counts_households_with_a_skilled_laborer(regions):
    skill = make_skill()
    first = make_household(VILLAGE)
    a = make_member(first, birth_ymd=19800101)
    make_member(first, birth_ymd=19820101, relation="02")
    second = make_household(VILLAGE)
    make_member(second, birth_ymd=19850101)
    no_laborers = make_household(VILLAGE)
    make_member(no_laborers, birth_ymd=19400101, labour="5")
    award(a, skill)
    db.session.commit()
    f = figures(VILLAGE)
    assert f["laborers"] == 3 and f["with_1"] == 1
    assert f["households_without_skill"] == 1  # the second household; the one without laborers is not counted
    from lms.regions.models import Region
    from lms.stats.queries import region_table

    own, _children = region_table(db.session.get(Region, VILLAGE))
    assert (own["households"], own["households_1"], own["household_coverage_1"]) == (2, 1, 0.5)
    assert_consistent()


def test_revocation_stops_counting_and_is_audited(regions, make_user):
    from lms.audit.models import AuditEntry
    from lms.skills.services import SkillError, revoke_award

    official = make_user("official", region_code="621123000000")
    skill = make_skill()
    member = make_member(make_household(VILLAGE))
    given = award(member, skill)
    db.session.commit()
    assert figures(VILLAGE)["with_1"] == 1
    with pytest.raises(SkillError):
        revoke_award(given, "  ", official)
    revoke_award(given, "伪造证书", official)
    db.session.commit()
    assert figures(VILLAGE)["with_1"] == 0
    assert figures("620000000000")["with_1"] == 0
    actions = [e.action for e in db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-1] == "skills.revoke"
    assert_consistent()


def test_award_marks_member_skilled_with_history(regions):
    from lms.households import categories as cat
    from lms.households.models import MemberChange

    member = make_member(make_household(VILLAGE), labour="1")
    award(member, make_skill())
    db.session.commit()
    db.session.refresh(member)
    assert member.labour_skill is cat.LabourSkill.SKILLED
    change = db.session.scalar(db.select(MemberChange).where(MemberChange.member_id == member.id))
    assert (change.field, change.old, change.new) == ("labour_skill", "1", "2")
    from lms.skills.models import SkillAward
    from lms.skills.services import revoke_award

    revoke_award(db.session.scalar(db.select(SkillAward)), "录入错误", None)
    db.session.commit()
    db.session.refresh(member)
    assert member.labour_skill is cat.LabourSkill.ORDINARY  # the last skill withdrawn: back to 普通劳动力
    history = [(c.old, c.new) for c in db.session.scalars(
        db.select(MemberChange).where(MemberChange.member_id == member.id).order_by(MemberChange.id))]
    assert history == [("1", "2"), ("2", "1")]


def test_breakdowns_and_trend(regions):
    from lms.regions.models import Region
    from lms.stats.queries import breakdowns, region_table, trend

    skill = make_skill()
    lacking = make_member(make_household(VILLAGE, htype="2", status="1", cause="07"))
    make_member(make_household(VILLAGE, htype="1", status="0", cause="01"))
    award(lacking, skill, "2024-02-15")
    db.session.commit()
    region = db.session.get(Region, "621123000000")
    parts = breakdowns(region)
    cause = {r["value"]: r for r in parts["cause"]}
    assert cause["07"]["with_1"] == 1 and cause["07"]["highlight"] and cause["07"]["label"] == "缺技术"
    assert cause["01"]["with_1"] == 0 and cause["01"]["households_without_skill"] == 1
    assert {r["label"]: r["laborers"] for r in parts["type"]} == {"一般贫困户": 1, "低保贫困户": 1}
    own, _ = region_table(region)
    points = trend(region, own, months=240)
    assert points[-1]["coverage_1"] == 0.5
    jan = next(p for p in points if p["month"] == "2024-01")
    feb = next(p for p in points if p["month"] == "2024-02")
    assert (jan["with_1"], feb["with_1"]) == (0, 1)


def test_rollups_equal_recount_after_imports_awards_and_revocations(regions, tmp_path, make_user):
    """Import a synthetic registry, award and revoke across villages: the incremental roll-ups
    always equal a from-scratch recount, at every level."""
    from lms.households.importing.run import import_households
    from lms.households.synth import write
    from lms.regions.services import import_regions
    from lms.skills.services import revoke_award
    from lms.stats.rollups import refresh_dirty, verify
    from lms.households.models import Member

    out = tmp_path / "registry.csv"
    write(str(out), 60, seed=3, counties=("621123",))
    import_regions((tmp_path / "registry-regions.csv").read_text(encoding="utf-8"))
    report = import_households(out, create_regions=True)
    assert report.rejected == 0
    db.session.commit()
    refresh_dirty()  # what the job does within a minute of the import
    db.session.commit()
    assert verify() == []
    official = make_user("official", region_code="620000000000")
    skills = [make_skill("s1", "电工"), make_skill("s2", "焊工"), make_skill("s3", "电子商务")]
    members = list(db.session.scalars(db.select(Member).order_by(Member.id)))
    given = []
    for i, member in enumerate(members[::3]):
        given.append(award(member, skills[i % 3], f"2024-0{1 + i % 9}-11"))
        if i % 4 == 0:
            given.append(award(member, skills[(i + 1) % 3], "2024-10-01"))
        if i % 5 == 0:
            given.append(award(member, skills[i % 3], "2024-11-01"))  # a duplicate of one skill
    db.session.commit()
    assert verify() == []
    for a in given[::4]:
        revoke_award(a, "复核不合格", official)
    db.session.commit()
    assert verify() == []
    assert figures("620000000000")["with_1"] > 0
    # A re-import that changes the registry (a year later: some laborers age out) is caught up too.
    write(str(out), 60, seed=3, counties=("621123",), year=2030)
    import_households(out, create_regions=True)
    db.session.commit()
    refresh_dirty()
    db.session.commit()
    assert verify() == []


def test_verify_reports_a_tampered_rollup(regions, runner):
    from lms.stats.models import SkillRollup

    make_member(make_household(VILLAGE))
    from lms.stats.rollups import refresh_villages

    refresh_villages([VILLAGE])
    db.session.commit()
    assert runner.invoke(args=["stats", "verify"]).exit_code == 0
    db.session.get(SkillRollup, "621123000000").laborers = 99
    db.session.commit()
    result = runner.invoke(args=["stats", "verify", "--region", "621123000000"])
    assert result.exit_code == 1 and "621123000000 laborers: stored=99 recount=1" in result.output
    assert runner.invoke(args=["stats", "rebuild"]).exit_code == 0
    assert runner.invoke(args=["stats", "verify"]).exit_code == 0


def test_member_removal_reaches_the_figures_in_its_transaction(regions, make_user):
    from lms.households.services import remove_member
    from lms.stats.models import DirtyVillage
    from lms.stats.rollups import refresh_villages

    member = make_member(make_household(VILLAGE))
    refresh_villages([VILLAGE])
    db.session.commit()
    assert figures(VILLAGE)["laborers"] == 1
    remove_member(member, "迁出", make_user("official", region_code=VILLAGE))
    db.session.commit()
    assert figures("620000000000")["laborers"] == 0
    assert db.session.get(DirtyVillage, VILLAGE) is None  # nothing left for the recount job
    assert_consistent()
