"""Awards from courses and offline classes, and the certificate import."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from lms.extensions import db
from tests.lms.stats.factories import award, id_number, make_household, make_member, make_skill

VILLAGE = "621123100201"


def laborers_with(code: str = VILLAGE) -> tuple[int, int]:
    from lms.regions.models import Region
    from lms.stats.queries import api_payload

    data = api_payload(db.session.get(Region, code))
    return data["with_1"], data["with_2"]


def test_course_completion_awards_its_skill_once(regions, make_user):
    from courses.models import Course, Programme
    from lms.learning.signals import course_completed
    from lms.skills.models import Evidence, SkillAward, Source

    skill = make_skill()
    member = make_member(make_household(VILLAGE))
    learner = make_user("learner", region_code=VILLAGE)
    learner.member_id = member.id
    programme = Programme(code="yulu", name="雨露计划·短期技能培训")
    db.session.add(programme)
    db.session.flush()
    course = Course(title="马铃薯种植技术", programme_id=programme.id, skill_id=skill.id)
    db.session.add(course)
    db.session.flush()
    course_completed.send(course, course_id=course.id, user_id=learner.id)
    course_completed.send(course, course_id=course.id, user_id=learner.id)
    db.session.commit()
    awards = list(db.session.scalars(db.select(SkillAward)))
    assert len(awards) == 1
    assert (awards[0].member_id, awards[0].evidence, awards[0].source) == (member.id, Evidence.course_completion,
                                                                          Source.course)
    assert laborers_with() == (1, 0)


def test_course_completion_by_a_non_registry_learner_is_counted_apart(regions, make_user):
    from courses.models import Course, Programme
    from lms.learning.signals import course_completed
    from lms.regions.models import Region
    from lms.stats.queries import region_table

    skill = make_skill()
    learner = make_user("learner", region_code=VILLAGE)
    programme = Programme(code="tx", name="同心温暖工程")
    db.session.add(programme)
    db.session.flush()
    course = Course(title="电商入门", programme_id=programme.id, skill_id=skill.id)
    db.session.add(course)
    db.session.flush()
    course_completed.send(course, course_id=course.id, user_id=learner.id)
    db.session.commit()
    own, _ = region_table(db.session.get(Region, "621123000000"))
    assert (own["laborers"], own["with_1"]) == (0, 0)
    assert (own["nonreg_learners"], own["nonreg_1"]) == (1, 1)


def test_offline_class_attendance_and_bulk_sign_off(regions, client, login, make_user):
    from lms.audit.models import AuditEntry
    from lms.skills.models import Attendance, OfflineClass, SkillAward

    trainer = make_user("trainer")
    skill = make_skill()
    household = make_household(VILLAGE)
    people = [make_member(household, birth_ymd=19800101 + i * 10000, relation="01" if i == 0 else "03",
                          name=f"学员{i}") for i in range(4)]
    db.session.commit()
    login(client, trainer)
    response = client.post_form("/skills/classes", {
        "title": "马铃薯种植实操班", "skill_id": skill.id, "region_code": VILLAGE, "place": "村委会",
        "starts_on": "2024-03-01", "ends_on": "2024-03-05", "hours": "24"})
    assert response.status_code == 302
    klass = db.session.scalar(db.select(OfflineClass))
    ids = "\n".join(p.plain_id for p in people) + "\n621123198001010000"
    page = client.post_form(f"/skills/classes/{klass.id}/trainees", {"id_numbers": ids}, follow_redirects=True)
    assert "不在建档立卡名单中" in page.get_data(as_text=True) or "Not in the registry" in page.get_data(as_text=True)
    assert [t.number for t in db.session.get(OfflineClass, klass.id).trainees] == [1, 2, 3, 4]
    client.post_form(f"/skills/classes/{klass.id}/sessions", {"held_on": "2024-03-01", "hours": "6", "topic": "选种"})
    session = db.session.get(OfflineClass, klass.id).sessions[0]
    client.post_form(f"/skills/sessions/{session.id}/attendance", {"numbers": "1-3"})
    present = {a.trainee_id: a.present for a in db.session.scalars(db.select(Attendance))}
    assert sorted(present.values()) == [False, True, True, True]
    bad = client.post_form(f"/skills/classes/{klass.id}/signoff", {"numbers": "2, 9"}, follow_redirects=True)
    assert db.session.scalar(db.select(db.func.count(SkillAward.id))) == 0  # roster number 9 does not exist
    assert "9" in bad.get_data(as_text=True)
    client.post_form(f"/skills/classes/{klass.id}/signoff", {"numbers": "1, 2"})
    assert laborers_with() == (2, 0)
    assert {e.action for e in db.session.scalars(db.select(AuditEntry))} >= {
        "skills.class_create", "skills.roster_add", "skills.attendance", "skills.award", "skills.assess"}


def test_practical_assessment_with_photo_and_fail_revokes(regions, client, login, make_user):
    from lms.skills.models import SkillAward, Trainee
    from lms.skills.services import add_trainees, create_class

    trainer = make_user("trainer")
    member = make_member(make_household(VILLAGE))
    klass = create_class(title="焊工班", skill_id=make_skill("weld", "焊工").id, region_code=VILLAGE,
                         starts_on=dt.date(2024, 4, 1), ends_on=dt.date(2024, 4, 3), trainer=trainer)
    add_trainees(klass, [member.plain_id], trainer)
    db.session.commit()
    trainee = db.session.scalar(db.select(Trainee))
    login(client, trainer)
    import io

    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 100
    client.post_form(f"/skills/classes/{klass.id}/trainees/{trainee.id}/assess",
                     {"result": "pass", "photo": (io.BytesIO(jpeg), "p.jpg")}, content_type="multipart/form-data")
    assert laborers_with() == (1, 0)
    with client.get(f"/skills/classes/{klass.id}/trainees/{trainee.id}/photo") as photo:
        assert photo.status_code == 200 and photo.data == jpeg
    client.post_form(f"/skills/classes/{klass.id}/trainees/{trainee.id}/assess", {"result": "fail"})
    assert laborers_with() == (0, 0)
    assert db.session.scalar(db.select(SkillAward)).revoked_at is not None
    other = client.application.test_client()
    login(other, make_user("trainer"))
    assert other.post_form(f"/skills/classes/{klass.id}/signoff", {"numbers": "1"}).status_code == 404


def test_official_revokes_in_scope_only(regions, client, login, make_user):
    from lms.skills.models import SkillAward

    member = make_member(make_household(VILLAGE))
    given = award(member, make_skill())
    db.session.commit()
    login(client, make_user("official", region_code="621123101000"))  # another township
    assert client.post_form(f"/skills/awards/{given.id}/revoke", {"reason": "x"}).status_code == 404
    assert client.get("/skills/awards?region=621123100000").status_code == 404
    client2 = client.application.test_client()
    login(client2, make_user("official", region_code="621123100000"))
    assert "马铃薯种植" in client2.get("/skills/awards").get_data(as_text=True)
    client2.post_form(f"/skills/awards/{given.id}/revoke", {"reason": "证书无效"})
    assert db.session.get(SkillAward, given.id).revoke_reason == "证书无效"
    assert laborers_with() == (0, 0)


def _write_csv(path, rows, encoding="utf-8"):
    import csv

    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        for row in rows:
            writer.writerow(row)


def test_certificate_import_bad_rows_and_exit_codes(regions, runner, tmp_path):
    skill = make_skill("potato", "马铃薯种植")
    make_skill("weld", "焊工")
    a = make_member(make_household(VILLAGE), birth_ymd=19800101)
    b = make_member(make_household(VILLAGE), birth_ymd=19810101)
    award(b, skill, certificate_number="OLD-1")
    db.session.commit()
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    path = tmp_path / "certs.csv"
    _write_csv(path, [
        ["技能证书登记表"],
        ["证件号码", "姓名", "技能", "证书类型", "等级", "证书编号", "发证日期", "发证机构"],
        [a.plain_id, "甲", "马铃薯种植", "培训合格证书", "", "C-1", "2024-05-01", "渭源县人社局"],   # row 3 ok
        [a.plain_id.lower(), "甲", "weld", "职业技能等级证书", "初级", "C-2", "2024/06/01", "人社局"],  # 4 ok (code)
        [id_number(19700101), "乙", "焊工", "培训合格证书", "", "C-3", "2024-05-01", ""],        # 5 not registered
        [a.plain_id, "甲", "开挖掘机", "培训合格证书", "", "C-4", "2024-05-01", ""],               # 6 unknown skill
        [a.plain_id, "甲", "焊工", "培训合格证书", "", "C-5", future, ""],                          # 7 future date
        [a.plain_id, "甲", "焊工", "培训合格证书", "", "OLD-1", "2024-05-01", ""],                  # 8 duplicate number
        [a.plain_id, "甲", "焊工", "培训合格证书", "", "C-1", "2024-05-01", ""],                    # 9 duplicate in file
        ["6.21123E+17", "甲", "焊工", "结业", "", "C-6", "2024-13-01", ""],                       # 10 three errors
    ], encoding="gb18030")
    report_path = tmp_path / "report.json"
    result = runner.invoke(args=["skills", "import-certificates", str(path), "--report", str(report_path)])
    assert result.exit_code == 1, result.output
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert (report["rows"], report["awards_created"], report["rejected"]) == (8, 2, 6)
    assert {"rows", "unchanged", "rejected", "warnings", "errors"} <= set(report)
    codes = {(e["row"], e["code"]) for e in report["errors"]}
    assert codes == {(5, "unknown_person"), (6, "unknown_skill"), (7, "future_date"), (8, "duplicate_certificate"),
                     (9, "duplicate_in_file"), (10, "id_excel_float"), (10, "unknown_certificate_type"),
                     (10, "bad_date")}
    assert all(e["message"] and e["column"] for e in report["errors"])
    assert laborers_with() == (2, 1)
    again = runner.invoke(args=["skills", "import-certificates", str(path), "--report", str(report_path)])
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert again.exit_code == 1 and (report["awards_created"], report["unchanged"]) == (0, 2)
    from lms.stats.rollups import verify

    assert verify() == []


def test_certificate_import_dry_run_and_unusable_file(regions, runner, tmp_path):
    from lms.skills.models import SkillAward

    make_skill()
    a = make_member(make_household(VILLAGE))
    db.session.commit()
    good = tmp_path / "good.csv"
    _write_csv(good, [["证件号码", "技能", "证书类型", "证书编号", "发证日期"],
                      [a.plain_id, "马铃薯种植", "专项职业能力证书", "Z-1", "20240501"]])
    result = runner.invoke(args=["skills", "import-certificates", str(good), "--dry-run"])
    assert result.exit_code == 0 and "awards_created=1" in result.output
    assert db.session.scalar(db.select(db.func.count(SkillAward.id))) == 0
    missing = tmp_path / "missing.csv"
    _write_csv(missing, [["证件号码", "技能", "证书编号"], [a.plain_id, "马铃薯种植", "Z-1"]])
    assert runner.invoke(args=["skills", "import-certificates", str(missing)]).exit_code == 2
    assert runner.invoke(args=["skills", "import-certificates", str(good)]).exit_code == 0
    assert laborers_with() == (1, 0)
