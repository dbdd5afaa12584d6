"""The 职业教育 strand: a school's enrolment list imported per term, paid per term."""
from __future__ import annotations

import json

from lms.extensions import db
from tests.lms.stats.factories import make_household, make_member
from tests.subsidies.fixtures import TOWNSHIP, VILLAGE, give_account, rows_of


def test_an_enrolment_list_proposes_each_student_for_the_term(world, runner, tmp_path):
    from lms.subsidies.rules import set_rule

    set_rule(None, strand="vocational-education", programme=None, amount_fen=150000, evidence="enrolment",
             min_age=14, max_age=30, per="term")
    household = make_household(VILLAGE)
    parent = make_member(household, name="马大", birth_ymd=19750101)
    student = make_member(household, name="马小", birth_ymd=20080901, relation="03", student="10")
    give_account(parent)
    db.session.commit()
    path = tmp_path / "enrolments.csv"
    path.write_text("证件号码,学校,专业,学籍号,学期\n"
                    f"{student.plain_id},渭源县职业中专,畜牧兽医,G2024001,2026年春季\n"
                    f"{student.plain_id},渭源县职业中专,畜牧兽医,G2024001,2026-1\n"
                    "62112320080901999X,无此学校,,,2026-1\n", encoding="utf-8")
    report = tmp_path / "r.json"
    result = runner.invoke(args=["subsidies", "enrolments", "import", str(path), "--report", str(report)])
    assert result.exit_code == 1, result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["enrolments_created"] == 1 and data["rejected"] == 2
    assert [e["code"] for e in data["errors"]][0] == "duplicate_in_file" and data["errors"][0]["row"] == 3
    result = runner.invoke(args=["subsidies", "batch", "create", "--region", TOWNSHIP, "--strand",
                                 "vocational-education", "--period", "2026-1", "--json"])
    data = json.loads(result.output)
    assert data["rows"] == 1 and data["total_yuan"] == "1500.00"
    (row,) = rows_of(data["batch"])
    assert row.member_id == student.id and row.evidence_title == "渭源县职业中专 畜牧兽医"
    # The autumn term has no list yet: nobody.
    result = runner.invoke(args=["subsidies", "batch", "create", "--region", TOWNSHIP, "--strand",
                                 "vocational-education", "--period", "2026-2", "--json"])
    assert json.loads(result.output)["rows"] == 0


def test_the_same_list_again_changes_nothing_and_a_corrected_row_is_counted_as_changed(world, runner, tmp_path):
    from lms.subsidies.models import Enrolment

    student = make_member(make_household(VILLAGE), name="马小", birth_ymd=20080901, relation="03", student="10")
    db.session.commit()
    path, report = tmp_path / "enrolments.csv", tmp_path / "r.json"

    def run(major: str) -> dict:
        path.write_text(f"证件号码,学校,专业,学籍号,学期\n{student.plain_id},渭源县职业中专,{major},G2024001,2026-1\n",
                        encoding="utf-8")
        result = runner.invoke(args=["subsidies", "enrolments", "import", str(path), "--report", str(report)])
        assert result.exit_code == 0, result.output
        data = json.loads(report.read_text(encoding="utf-8"))
        return {k: data[k] for k in ("rows", "enrolments_created", "enrolments_changed", "unchanged")}

    assert run("畜牧兽医") == {"rows": 1, "enrolments_created": 1, "enrolments_changed": 0, "unchanged": 0}
    assert run("畜牧兽医") == {"rows": 1, "enrolments_created": 0, "enrolments_changed": 0, "unchanged": 1}
    assert run("农机维修") == {"rows": 1, "enrolments_created": 0, "enrolments_changed": 1, "unchanged": 0}
    db.session.expire_all()
    assert [e.major for e in db.session.query(Enrolment)] == ["农机维修"]
