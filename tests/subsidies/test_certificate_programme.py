"""The certificate import's optional 培训项目 column: a certificate issued under 雨露计划 counts as the
short-training strand's evidence; an unknown programme is a row error."""
from __future__ import annotations

import json

from lms.extensions import db
from tests.lms.stats.factories import make_household, make_member
from tests.subsidies.fixtures import TOWNSHIP, VILLAGE, give_account, rows_of


def test_a_certificate_imported_under_the_programme_is_proposed(world, runner, tmp_path):
    from sqlalchemy import select

    from lms.skills.models import SkillAward

    person = make_member(make_household(VILLAGE), name="孙七", birth_ymd=19940101)
    other = make_member(make_household(VILLAGE), name="周八", birth_ymd=19940101)
    give_account(person)
    give_account(other)
    db.session.commit()
    path = tmp_path / "certs.csv"
    path.write_text("证件号码,技能,证书类型,证书编号,发证日期,培训项目\n"
                    f"{person.plain_id},马铃薯种植,培训合格证书,PX0001,2026-04-01,雨露计划·短期技能培训\n"
                    f"{other.plain_id},马铃薯种植,培训合格证书,PX0002,2026-04-01,不存在的项目\n", encoding="utf-8")
    result = runner.invoke(args=["skills", "import-certificates", str(path)])
    assert result.exit_code == 1, result.output
    assert "unknown_programme" in result.output
    award = db.session.scalar(select(SkillAward).where(SkillAward.certificate_number == "PX0001"))
    from courses.models import Programme

    assert award.programme_id == db.session.scalar(select(Programme.id).where(Programme.code == "yulu-short"))
    assert db.session.scalar(select(SkillAward).where(SkillAward.certificate_number == "PX0002")) is None
    result = runner.invoke(args=["subsidies", "batch", "create", "--region", TOWNSHIP, "--strand", "short-training",
                                 "--period", "2026", "--json"])
    rows = rows_of(json.loads(result.output)["batch"])
    assert person.id in {r.member_id for r in rows} and other.id not in {r.member_id for r in rows}
    assert next(r for r in rows if r.member_id == person.id).certificate_number == "PX0001"
