import json

from lms.regions.models import Region
from lms.regions.scope import in_scope

GOOD = """code,name,level,parent_code
620000000000,甘肃省,1,
621100000000,定西市,2,620000000000
621123000000,渭源县,3,621100000000
"""


def write(tmp_path, text, name="regions.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_is_idempotent(runner, db, tmp_path):
    path = write(tmp_path, GOOD)
    first = runner.invoke(args=["regions", "import", path])
    assert first.exit_code == 0, first.output
    assert "created=3" in first.output
    second = runner.invoke(args=["regions", "import", path])
    assert "created=0" in second.output and "unchanged=3" in second.output
    assert db.session.get(Region, "621123000000").parent.name == "定西市"


def test_bad_rows_are_reported_with_spreadsheet_row_numbers_and_not_imported(runner, db, tmp_path):
    text = GOOD + "62112310000,短码镇,4,621123000000\n621123100000,清源镇,4,629999000000\n621123100201,某村,9,621123100000\n"
    report_path = tmp_path / "report.json"
    result = runner.invoke(args=["regions", "import", write(tmp_path, text), "--report", str(report_path)])
    assert result.exit_code == 1
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["created"] == 3 and report["rejected"] == 3
    assert [(e["row"], e["code"]) for e in report["errors"]] == [
        (5, "bad_code"), (6, "unknown_parent"), (7, "bad_level")]
    assert db.session.get(Region, "621123100000") is None


def test_missing_header_makes_the_file_unusable(runner, db, tmp_path):
    result = runner.invoke(args=["regions", "import", write(tmp_path, "code,name\n620000000000,甘肃省\n")])
    assert result.exit_code == 2
    assert "parent_code" in result.output
    assert db.session.scalar(db.select(db.func.count()).select_from(Region)) == 0


def test_official_scope_is_a_code_prefix(db, regions, make_user):
    county = make_user("official", region_code="621123000000")
    visible = set(db.session.scalars(db.select(Region.code).where(in_scope(county, Region.code))))
    assert "621123100201" in visible and "621123000000" in visible
    assert "621102100201" not in visible and "620000000000" not in visible
    admin = make_user("admin")
    assert db.session.scalar(db.select(db.func.count()).select_from(Region).where(in_scope(admin, Region.code))) == 12
    learner = make_user("learner", region_code="621123100201")
    assert db.session.scalar(db.select(db.func.count()).select_from(Region).where(in_scope(learner, Region.code))) == 0
