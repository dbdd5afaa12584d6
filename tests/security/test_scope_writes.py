"""Region scope on every write: two officials of sibling townships (清源镇 and 莲峰镇 of 渭源县), a
village official and a county official attack each other's registry through HTTP, the job and the
CLI; every refusal names nothing of the other township and changes nothing."""
from __future__ import annotations

import csv
import datetime as dt

import pytest
from sqlalchemy import func, select

from lms.extensions import db
from tests.lms.stats.factories import award, id_number, make_household, make_member, make_skill

TOWN_A, TOWN_B, COUNTY = "621123100000", "621123101000", "621123000000"
VILLAGE_A, VILLAGE_A2 = "621123100201", "621123100202"  # 示例一村, 示例二村 (清源镇)
VILLAGE_B = "621123101201"  # 示例三村 (莲峰镇)
ELSEWHERE = "621102100201"  # 示例五村 (安定区, another county)
NEUTRAL = "已在其他地区登记，请联系上级部门"
# Words of township B that must never appear on a page shown to official A.
B_WORDS = ("莲峰镇", "示例三村", VILLAGE_B, "赵乙")
HEADER = ["户编号", "姓名", "证件号码", "与户主关系", "劳动技能", "村代码", "文化程度", "贫困户属性",
          "主要致贫原因", "脱贫状态", "年度"]


def head_row(hno: str, name: str, number: str, village: str) -> list[str]:
    return [hno, name, number, "户主", "普通劳动力", village, "初中", "一般贫困户", "缺技术", "未脱贫", "2024"]


def write_export(path, rows) -> str:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        out.writerows(rows)
    return str(path)


def snapshot(household_id: int) -> tuple:
    """Everything an attack could change about a household: its fields, its members, its history."""
    from lms.households.models import Household, Member, MemberChange

    db.session.expire_all()
    h = db.session.get(Household, household_id)
    members = db.session.execute(select(Member.id, Member.name, Member.labour_skill, Member.removed_at,
                                        Member.id_hash).where(Member.household_id == household_id)
                                 .order_by(Member.id)).all()
    changes = db.session.scalar(select(func.count(MemberChange.id))
                                .where(MemberChange.household_id == household_id))
    return (h.village_code, h.year, h.poverty_status, h.updated_at, members, changes)


@pytest.fixture
def world(regions, make_user):
    """Household A1 (村 示例一村, 清源镇) and B1 (示例三村, 莲峰镇), one member each, and the officials."""
    a1 = make_household(VILLAGE_A, number="A1")
    a_head = make_member(a1, name="钱甲", number=id_number(19800101))
    b1 = make_household(VILLAGE_B, number="B1")
    b_head = make_member(b1, name="赵乙", number=id_number(19810101))
    db.session.commit()
    return {
        "a1": a1.id, "b1": b1.id, "a_head": a_head, "b_head": b_head,
        "official_a": make_user("official", region_code=TOWN_A),
        "official_b": make_user("official", region_code=TOWN_B),
        "village_official": make_user("official", region_code=VILLAGE_A),
        "county_official": make_user("official", region_code=COUNTY),
        "admin": make_user("admin"),
    }


def _upload_and_confirm(client, path):
    from lms.households.models import HouseholdImport

    with open(path, "rb") as fh:
        preview = client.post_form("/households/import", {"file": (fh, "名单.csv")},
                                   content_type="multipart/form-data")
    assert preview.status_code == 200
    rec_id = db.session.scalar(select(func.max(HouseholdImport.id)))
    done = client.post_form(f"/households/import/{rec_id}/confirm", {})
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    return db.session.get(HouseholdImport, rec_id), page


def test_web_import_cannot_create_or_change_households_of_the_sibling_township(client, login, world,
                                                                             tmp_path):
    from lms.households.models import Household
    from lms.households.queries import member_by_id_number

    before = snapshot(world["b1"])
    path = write_export(tmp_path / "a.csv", [
        head_row("N1", "孙丙", id_number(19820101), VILLAGE_B),  # 2 new, in B's village
        head_row("B1", "赵乙", world["b_head"].plain_id, VILLAGE_A),  # 3 B's number, claimed for A
        head_row("N2", "赵乙", world["b_head"].plain_id, VILLAGE_A),  # 4 B's ID number in a new household
        head_row("A2", "周丁", id_number(19830101), VILLAGE_A),  # 5 fine
    ])
    login(client, world["official_a"])
    rec, page = _upload_and_confirm(client, path)

    assert rec.status == "done" and rec.report["households_created"] == 1
    errors = {(e["row"], e["code"]) for e in rec.report["errors"]}
    assert errors == {(2, "out_of_scope"), (3, "registered_elsewhere"), (4, "registered_elsewhere")}
    assert page.count(NEUTRAL) == 2
    for word in B_WORDS:
        assert word not in page, word
    assert snapshot(world["b1"]) == before
    numbers = set(db.session.scalars(select(Household.household_no)))
    assert numbers == {"A1", "B1", "A2"}
    assert member_by_id_number(world["b_head"].plain_id).household_id == world["b1"]


def test_the_job_uses_the_uploaders_region_when_it_runs(client, login, world, tmp_path):
    """An official moved to another township between upload and job imports into the new one only."""
    from lms.accounts.models import User

    path = write_export(tmp_path / "a.csv", [head_row("A3", "吴戊", id_number(19840101), VILLAGE_A)])
    official = world["official_a"]
    login(client, official)
    with open(path, "rb") as fh:
        client.post_form("/households/import", {"file": (fh, "a.csv")}, content_type="multipart/form-data")
    db.session.get(User, official.id).region_code = TOWN_B
    db.session.commit()
    from lms.households.models import HouseholdImport

    rec_id = db.session.scalar(select(func.max(HouseholdImport.id)))
    client.post_form(f"/households/import/{rec_id}/confirm", {})
    db.session.expire_all()
    rec = db.session.get(HouseholdImport, rec_id)
    assert rec.report["households_created"] == 0
    assert [e["code"] for e in rec.report["errors"]] == ["out_of_scope"]


def test_cli_import_by_an_official_is_scoped_like_the_web(runner, world, tmp_path):
    from lms.households.models import Household

    before = snapshot(world["b1"])
    path = write_export(tmp_path / "a.csv", [
        head_row("B1", "赵乙", world["b_head"].plain_id, VILLAGE_A),
        head_row("A4", "郑己", id_number(19850101), VILLAGE_A)])
    official = world["official_a"].plain_identifier
    result = runner.invoke(args=["households", "import", path, "--by", official])
    assert result.exit_code == 1, result.output
    assert "registered_elsewhere" in result.output and VILLAGE_B not in result.output
    assert snapshot(world["b1"]) == before
    assert db.session.scalar(select(Household.id).where(Household.household_no == "A4"))
    refused = runner.invoke(args=["households", "import", path, "--by", "nobody-here"])
    assert refused.exit_code == 2


def test_an_import_never_moves_a_household(client, login, world, tmp_path):
    before = snapshot(world["a1"])
    path = write_export(tmp_path / "a.csv", [head_row("A1", "钱甲", world["a_head"].plain_id, VILLAGE_A2)])
    login(client, world["official_a"])
    rec, page = _upload_and_confirm(client, path)
    assert [e["code"] for e in rec.report["errors"]] == ["household_moved"]
    assert "迁往其他村" in page
    assert snapshot(world["a1"]) == before


def test_moving_a_household_across_townships_is_refused(client, login, world):
    from lms.audit.models import AuditEntry

    a_before, b_before = snapshot(world["a1"]), snapshot(world["b1"])
    login(client, world["official_a"])
    # B's household: not even found.
    assert client.post_form(f"/households/{world['b1']}/move", {"village": VILLAGE_A}).status_code == 404
    # A's household to B's village: refused without saying whether that village exists.
    response = client.post_form(f"/households/{world['a1']}/move", {"village": VILLAGE_B})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "请选择本辖区内的村。" in page
    assert "示例三村" not in page and "莲峰镇" not in page
    unknown = client.post_form(f"/households/{world['a1']}/move", {"village": "621123199999"})
    assert unknown.status_code == 422 and "请选择本辖区内的村。" in unknown.get_data(as_text=True)
    assert (snapshot(world["a1"]), snapshot(world["b1"])) == (a_before, b_before)
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "households.move")) == 0


def test_a_village_official_cannot_move_a_household_out_of_their_village(client, login, world):
    before = snapshot(world["a1"])
    login(client, world["village_official"])
    response = client.post_form(f"/households/{world['a1']}/move", {"village": VILLAGE_A2})
    assert response.status_code == 422
    assert snapshot(world["a1"]) == before


def test_moving_within_the_region_is_recorded_in_the_history(client, login, world):
    from lms.audit.models import AuditEntry
    from lms.households.models import Household, MemberChange

    official = world["official_a"]
    login(client, official)
    response = client.post_form(f"/households/{world['a1']}/move", {"village": VILLAGE_A2})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Household, world["a1"]).village_code == VILLAGE_A2
    change = db.session.scalar(select(MemberChange).where(MemberChange.household_id == world["a1"]))
    assert (change.field, change.old, change.new, change.user_id) == (
        "village_code", VILLAGE_A, VILLAGE_A2, official.id)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "households.move"))
    assert entry.actor_id == official.id and entry.details == {"from": VILLAGE_A, "to": VILLAGE_A2}
    page = client.get(f"/households/{world['a1']}").get_data(as_text=True)
    assert "示例二村" in page and VILLAGE_A in page  # now in 示例二村; the history shows where from


def test_member_removal_and_accounts_outside_the_region_are_refused(client, login, world):
    from lms.accounts.models import User
    from lms.households.services import remove_member, set_member_account
    from lms.regions.scope import OutOfScope

    before = snapshot(world["b1"])
    users = db.session.scalar(select(func.count(User.id)))
    b_head = world["b_head"]
    login(client, world["official_a"])
    for action, data in (("remove", {"reason": "死亡", "confirm": "1"}), ("account", {"pin": "135792"})):
        assert client.post_form(f"/households/members/{b_head.id}/{action}", data).status_code == 404
    # The services refuse too, whoever calls them (a job, a script).
    from lms.households.models import Member

    member = db.session.get(Member, b_head.id)
    with pytest.raises(OutOfScope):
        remove_member(member, "死亡", world["official_a"])
    with pytest.raises(OutOfScope):
        set_member_account(member, "135792", world["official_a"])
    db.session.rollback()
    assert snapshot(world["b1"]) == before
    assert db.session.scalar(select(func.count(User.id))) == users


def test_officials_create_learner_accounts_only_inside_their_region(world):
    from lms.accounts.models import User
    from lms.accounts.services import AccountError, create_user

    users = db.session.scalar(select(func.count(User.id)))
    official = world["official_a"]
    for role, region in (("learner", VILLAGE_B), ("learner", None), ("learner", ELSEWHERE),
                         ("official", VILLAGE_A), ("admin", None)):
        with pytest.raises(AccountError):
            create_user(username="13900000001" if role == "learner" else "newstaff", role=role,
                        password="135792" if role == "learner" else "long-password-1",
                        region_code=region, actor=official)
    db.session.rollback()
    assert db.session.scalar(select(func.count(User.id))) == users
    ok = create_user(username="13900000002", role="learner", password="135792", region_code=VILLAGE_A,
                     actor=official)
    assert ok.region_code == VILLAGE_A


def test_awards_and_revocations_outside_the_region_are_refused(client, login, world):
    from lms.regions.scope import OutOfScope
    from lms.skills.models import Evidence, SkillAward, Source
    from lms.skills.services import award_skill, revoke_award

    skill = make_skill()
    given = award(world["a_head"], skill)
    db.session.commit()
    login(client, world["official_b"])
    assert client.post_form(f"/skills/awards/{given.id}/revoke", {"reason": "伪造"}).status_code == 404
    with pytest.raises(OutOfScope):
        revoke_award(db.session.get(SkillAward, given.id), "伪造", world["official_b"])
    with pytest.raises(OutOfScope):
        award_skill(skill_id=skill.id, evidence=Evidence.training_certificate, source=Source.certificate_import,
                    member=world["a_head"], awarded_on=dt.date(2024, 5, 1), actor=world["official_b"])
    db.session.rollback()
    awards = list(db.session.scalars(select(SkillAward)))
    assert len(awards) == 1 and awards[0].revoked_at is None


def test_offline_class_writes_outside_the_region_are_refused(client, login, world, make_user):
    from lms.regions.scope import OutOfScope
    from lms.skills.models import ClassSession, OfflineClass, SkillAward, Trainee
    from lms.skills.services import add_session, add_trainees, create_class

    trainer = make_user("trainer")
    klass = create_class(title="马铃薯种植实操班", skill_id=make_skill().id, region_code=TOWN_A,
                         starts_on=dt.date(2024, 4, 1), ends_on=dt.date(2024, 4, 3), trainer=trainer)
    add_trainees(klass, [world["a_head"].plain_id], trainer)
    session = add_session(klass, dt.date(2024, 4, 1), 3, "播种", trainer)
    db.session.commit()
    klass_id, session_id = klass.id, session.id

    def state():
        db.session.expire_all()
        return (db.session.scalar(select(func.count(Trainee.id))),
                db.session.scalar(select(func.count(ClassSession.id))),
                db.session.scalar(select(func.count(SkillAward.id))),
                [(a.trainee_id, a.present) for a in db.session.get(ClassSession, session_id).attendance])

    before = state()
    login(client, world["official_b"])
    for path, data in ((f"/skills/classes/{klass_id}/trainees", {"id_numbers": world["b_head"].plain_id}),
                       (f"/skills/classes/{klass_id}/sessions", {"held_on": "2024-04-02", "hours": "2"}),
                       (f"/skills/sessions/{session_id}/attendance", {"numbers": "1"}),
                       (f"/skills/classes/{klass_id}/signoff", {"numbers": "1"})):
        assert client.post_form(path, data).status_code in (403, 404), path
    assert client.get(f"/skills/classes/{klass_id}").status_code == 404
    assert state() == before
    # The class's own trainer cannot put a member of another township on its roster.
    trainer_client = client.application.test_client()
    login(trainer_client, trainer)
    page = trainer_client.post_form(f"/skills/classes/{klass_id}/trainees",
                                    {"id_numbers": world["b_head"].plain_id}, follow_redirects=True)
    assert "不属于本班所在地区" in page.get_data(as_text=True)
    assert state() == before
    # Nor may an official create or run a class outside their township through the services.
    with pytest.raises(OutOfScope):
        create_class(title="x", skill_id=1, region_code=TOWN_A, starts_on=dt.date(2024, 4, 1),
                     ends_on=dt.date(2024, 4, 2), trainer=world["official_b"])
    with pytest.raises(OutOfScope):
        add_session(db.session.get(OfflineClass, klass_id), dt.date(2024, 4, 2), 1, "", world["official_b"])
    db.session.rollback()
    assert state() == before


def _certificates(path, rows) -> str:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["证件号码", "技能", "证书类型", "证书编号", "发证日期"])
        out.writerows(rows)
    return str(path)


def test_certificate_import_by_a_county_official_covers_their_county_only(runner, world, tmp_path):
    from lms.audit.models import AuditEntry
    from lms.skills.models import SkillAward

    make_skill()
    outsider = make_member(make_household(ELSEWHERE, number="E1"), name="王庚", number=id_number(19860101))
    db.session.commit()
    path = _certificates(tmp_path / "c.csv", [
        [world["a_head"].plain_id, "马铃薯种植", "培训合格证书", "C-1", "2024-05-01"],  # row 2: in 渭源县
        [outsider.plain_id, "马铃薯种植", "培训合格证书", "C-2", "2024-05-01"]])  # row 3: 安定区
    report_path = tmp_path / "r.json"

    township = runner.invoke(args=["skills", "import-certificates", path, "--by",
                                   world["official_a"].plain_identifier])
    assert township.exit_code == 2 and "县级" in township.output
    assert db.session.scalar(select(func.count(SkillAward.id))) == 0

    county = world["county_official"]
    result = runner.invoke(args=["skills", "import-certificates", path, "--by", county.plain_identifier,
                                 "--report", str(report_path)])
    assert result.exit_code == 1, result.output
    import json

    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert [(e["row"], e["code"], e["message"]) for e in report["errors"]] == [
        (3, "registered_elsewhere", NEUTRAL)]
    assert "安定区" not in result.output and "王庚" not in result.output
    holders = set(db.session.scalars(select(SkillAward.member_id)))
    assert holders == {world["a_head"].id}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "skills.import_certificates"))
    assert entry.actor_id == county.id

    admin = runner.invoke(args=["skills", "import-certificates", path, "--by", world["admin"].plain_identifier])
    assert admin.exit_code == 0, admin.output
    assert set(db.session.scalars(select(SkillAward.member_id))) == {world["a_head"].id, outsider.id}
