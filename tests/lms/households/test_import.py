import json

import pytest
from sqlalchemy import func, select

from lms.households import categories as cat
from lms.households.models import Household, Member, MemberChange
from lms.households.queries import member_by_id_number, poverty_status_history
from lms.households.importing.run import import_households

from .records import VILLAGE, family, make_id, row


def run(path, **options):
    """Import as the CLI does: commit what the report says to keep."""
    from lms.extensions import db

    report = import_households(path, **options)
    if report.changes_kept:
        db.session.commit()
    else:
        db.session.rollback()
    return report


def count(model):
    from lms.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))


def codes(report):
    """The errors, without the "rejected with its household" reasons of sibling rows."""
    return sorted((e.row, e.code) for e in report.errors if e.code != "household_rejected")


def own_codes(report):
    return [e.code for e in report.errors if e.code != "household_rejected"]


@pytest.fixture(autouse=True)
def _regions(regions):
    pass


def test_a_clean_file_is_imported(export):
    report = run(export(family("H1", 1) + family("H2", 2)))
    assert report.exit_code == 0 and report.rows == 6
    assert (report.households_created, report.members_created, report.rejected) == (2, 6, 0)
    member = member_by_id_number(make_id("19800101", 11))
    assert member.name == "张三" and member.relation is cat.Relation.HEAD
    assert member.household.village_code == VILLAGE and member.household.year == 2024
    assert member.household.main_cause is cat.Cause.NO_SKILLS
    assert member.sex is cat.Sex.MALE and member.birth_ymd == 19800101


def test_id_numbers_are_encrypted_at_rest(export):
    from lms.extensions import db

    run(export(family()))
    number = make_id("19800101", 11)
    blob = db.session.scalar(select(Member.id_enc).limit(1))
    dump = b"".join(bytes(b) for b in db.session.scalars(select(Member.id_enc)))
    assert number.encode() not in dump and number[:14].encode() not in dump and len(blob) > 18


BAD_ROWS = [
    # (changes to the 户主 row, expected error code)
    ({"证件号码": "6.21123E+17"}, "id_excel_float"),
    ({"证件号码": make_id()[:17] + "Z"}, "id_format"),
    ({"证件号码": "123"}, "id_length"),
    ({"姓名": ""}, "required"),
    ({"劳动技能": "很能干"}, "invalid_value"),
    ({"与户主关系": ""}, "required"),
    ({"文化程度": "初中", "在校生状况": "小学"}, "education_and_student"),
    ({"务工所在地": "省外务工", "务工时间（月）": ""}, "work_together"),
    ({"务工所在地": "", "务工时间（月）": "5"}, "work_together"),
    ({"务工所在地": "省外务工", "务工时间（月）": "13"}, "work_months_range"),
    ({"性别": "女"}, "sex_mismatch"),
    ({"村代码": "62112310"}, "village_code_format"),
    ({"村代码": "621123100299"}, "unknown_region"),
    ({"年度": "去年"}, "invalid_year"),
    ({"贫困户属性": "富裕户"}, "invalid_value"),
]


@pytest.mark.parametrize("change,code", BAD_ROWS, ids=[c for _, c in BAD_ROWS])
def test_each_row_rule_rejects_the_household_with_its_row_number(export, change, code):
    bad = family("H1", 1)
    bad[0].update(change)
    report = run(export(bad + family("H2", 2)))
    assert report.exit_code == 1
    assert (2, code) in codes(report), codes(report)
    assert report.rejected == 3 and report.households_created == 1 and report.members_created == 3
    assert count(Household) == 1
    error = next(e for e in report.as_dict()["errors"] if e["code"] == code)
    assert error["row"] == 2 and error["column"] and error["message"] and error["message"] != code
    siblings = [(e.row, e.code) for e in report.errors if e.row in (3, 4)]
    assert siblings == [(3, "household_rejected"), (4, "household_rejected")]


@pytest.mark.parametrize("change,code", [
    ({"与户主关系": "之子"}, "no_head"),
    ({"与户主关系": "户主"}, "many_heads"),
])
def test_household_rules_on_relations(export, change, code):
    rows = family("H1", 1)
    rows[2].update(change)
    if code == "no_head":
        rows[0]["与户主关系"] = "之父"
    report = run(export(rows))
    assert code in [e.code for e in report.errors] and count(Household) == 0
    assert report.rejected == 3


def test_two_spouses_and_same_sex_spouse(export):
    rows = family("H1", 1)
    rows.append(row("H1", "王五", make_id("19830303", 14), "配偶", "普通劳动力"))
    same = family("H2", 2)
    same[1]["证件号码"] = make_id("19820202", 23)  # odd sequence: a man, like the 户主
    report = run(export(rows + same))
    assert sorted(own_codes(report)) == ["many_spouses", "spouse_same_sex"]
    assert count(Household) == 0


def test_an_id_appears_once_in_the_whole_registry(export):
    twice = family("H2", 2)
    twice[1]["证件号码"] = make_id("19820202", 12)  # the spouse of H1
    report = run(export(family("H1", 1) + twice))
    assert ("id_duplicate" in own_codes(report)) and report.households_created == 1
    later = family("H3", 3)
    later[2]["证件号码"] = make_id("20120303", 11)  # the son of H1, already registered
    report = run(export(later))
    assert own_codes(report) == ["id_registered"]
    assert report.errors[0].params["household"] == "H1"


def test_historical_area_code_is_accepted_with_a_warning(export):
    rows = family()
    rows[1]["证件号码"] = make_id("19700101", 2, area="622426")
    report = run(export(rows))
    assert report.exit_code == 0 and report.members_created == 3
    assert [(w.row, w.code) for w in report.warnings] == [(3, "id_area_historical")]


def test_legacy_15_digit_number_is_stored_upgraded(export):
    from lms.households.services import cipher

    rows = family()
    rows[0]["证件号码"] = "621123800101011"
    report = run(export(rows))
    assert report.exit_code == 0 and [w.code for w in report.warnings] == ["id_upgraded"]
    legacy = member_by_id_number("621123800101011")
    assert legacy.name == "张三"
    # Stored as the 18-digit number (DOMAIN.md §2: "19" inserted, check character
    # computed), so the person's new card finds the same record, and shows that number.
    upgraded = member_by_id_number("621123198001010116")
    assert upgraded is not None and upgraded.id == legacy.id
    assert cipher().decrypt(upgraded.id_enc) == "621123198001010116"
    # The 17 digits with a wrong check character are no ID number: nobody is found.
    assert member_by_id_number("62112319800101011X") is None


def test_disability_certificate_member(export):
    rows = family()
    rows[1]["证件号码"] = make_id("19820202", 12) + "42"
    rows[1]["证件类型"] = "残疾人证"
    report = run(export(rows))
    assert report.exit_code == 0
    member = member_by_id_number(make_id("19820202", 12))
    assert member.doc_type is cat.DocType.DISABILITY_CERT


def test_strict_imports_nothing_when_a_row_is_bad(export):
    bad = family("H2", 2)
    bad[0]["证件号码"] = "123"
    report = run(export(family("H1", 1) + bad), strict=True)
    assert report.exit_code == 1 and not report.changes_kept
    assert count(Household) == 0 and count(Member) == 0


def test_dry_run_reports_exactly_and_changes_nothing(export):
    bad = family("H2", 2)
    bad[0]["证件号码"] = "123"
    path = export(family("H1", 1) + bad)
    dry = run(path, dry_run=True).as_dict()
    assert count(Household) == 0
    real = run(path).as_dict()
    assert count(Household) == 1
    dry.pop("dry_run"), real.pop("dry_run")
    assert dry == real


def test_reimport_is_idempotent_and_keeps_history(export):
    path = export(family("H1", 1))
    run(path)
    again = run(path)
    assert (again.households_updated, again.members_updated, again.unchanged) == (0, 0, 3)
    assert count(MemberChange) == 0

    changed = family("H1", 1, status="已脱贫(享受政策)")
    changed[1]["劳动技能"] = "技能劳动力"
    report = run(export(changed))
    assert (report.households_updated, report.members_updated, report.unchanged) == (1, 1, 2)
    from lms.extensions import db
    fields = sorted(db.session.scalars(select(MemberChange.field)))
    assert fields == ["labour_skill", "poverty_status"]
    skill = db.session.scalar(select(MemberChange).where(MemberChange.field == "labour_skill"))
    assert (skill.old, skill.new) == ("3", "2") and skill.member_id is not None

    spouse = member_by_id_number(make_id("19820202", 12))
    assert spouse.labour_skill is cat.LabourSkill.SKILLED
    timeline = [status for _when, status in poverty_status_history(spouse.id)]
    assert timeline == [cat.PovertyStatus.POOR, cat.PovertyStatus.OUT_WITH_SUPPORT]
    # Nothing is deleted by an import: a household exported without a member keeps it.
    run(export(changed[:2]))
    assert count(Member) == 3


def test_region_by_names_and_create_regions(export):
    by_name = [dict(r, 村代码="", 县="渭源县", 乡="莲峰镇", 村="示例三村") for r in family("H1", 1)]
    report = run(export(by_name, header=["户编号", "姓名", "证件号码", "与户主关系", "劳动技能", "县", "乡",
                                         "村", "在校生状况", "文化程度"]))
    assert report.exit_code == 0
    assert member_by_id_number(make_id("19800101", 11)).household.village_code == "621123101201"

    new = family("H2", 2, village="621123102005")
    for r in new:
        r.update(乡="新设镇", 村="新设村")
    assert [e.code for e in run(export(new)).errors][:1] == ["unknown_region"]
    report = run(export(new), create_regions=True)
    assert report.exit_code == 0, codes(report)
    from lms.extensions import db
    from lms.regions.models import Region
    assert db.session.get(Region, "621123102005").name == "新设村"
    assert db.session.get(Region, "621123102000").parent_code == "621123000000"


@pytest.mark.parametrize("chunk_rows,helper", [(5000, False), (2, False), (2, True)])
def test_a_household_split_in_the_file_is_rejected_whole(export, monkeypatch, chunk_rows, helper):
    from lms.households.importing import pipeline

    # With 2-row chunks the parts of H1 reach the database in different chunks.
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", chunk_rows)
    if helper:
        monkeypatch.setattr(pipeline, "PIPELINE_MIN_BYTES", 0)
    rows = family("H1", 1)
    report = run(export(rows[:2] + family("H2", 2) + rows[2:] + family("H3", 3)))
    assert codes(report) == [(2, "household_split"), (7, "household_split")]
    assert sorted(e.row for e in report.errors) == [2, 3, 7]
    assert (report.rejected, report.households_created, report.members_created) == (3, 2, 6)
    assert member_by_id_number(make_id("19800101", 11)) is None
    assert count(Household) == 2 and count(Member) == 6


def test_a_split_household_already_registered_is_not_touched(export, monkeypatch):
    from lms.households.importing import pipeline

    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    rows = family("H1", 1)
    run(export(rows))
    changed = family("H1", 1, status="已脱贫(享受政策)")
    report = run(export(changed[:1] + family("H2", 2) + changed[1:]))
    assert [c for _r, c in codes(report)] == ["household_split", "household_split"]
    assert report.households_updated == 0 and count(MemberChange) == 0
    assert db_household("H1").poverty_status is cat.PovertyStatus.POOR


def db_household(number):
    from lms.extensions import db

    return db.session.scalar(select(Household).where(Household.household_no == number))


def _registry():
    """Every stored value of households and members, but the times and the
    (randomly sealed) encrypted numbers, in id order."""
    from lms.extensions import db
    from lms.households.services import cipher

    # Ids depend on the database's sequences: members name their household by number.
    skip = {"id", "created_at", "updated_at", "id_enc", "household_id"}
    numbers = dict(db.session.execute(select(Household.id, Household.household_no)).all())
    found = [[(numbers.get(row._mapping.get("household_id")),)
              + tuple(v for k, v in row._mapping.items() if k not in skip)
              for row in db.session.execute(select(t).order_by(t.c.id))]
             for t in (Household.__table__, Member.__table__)]
    found.append([cipher().decrypt(e) for e in db.session.scalars(
        select(Member.id_enc).order_by(Member.id))])
    return found


def test_insert_first_and_checked_writes_store_the_same(export, monkeypatch):
    """The writer inserts a chunk of new households straight away and falls back to
    looking everything up when an index objects; both ways give the same result."""
    from lms.extensions import db
    from lms.households.importing import pipeline
    from lms.households.importing.writer import ChunkWriter

    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 4)
    bad = family("H2", 2)
    bad[0]["证件号码"] = "123"
    twice = family("H4", 4)
    twice[2]["证件号码"] = make_id("19820202", 12)  # H1's spouse, a chunk earlier
    first = export(family("H1", 1) + bad + family("H3", 3) + twice + family("H5", 5))
    changed = family("H1", 1, status="已脱贫(享受政策)")
    second = export(changed + family("H6", 6) + [row("H6", "王五", make_id("19900101", 71),
                                                     "之子", "普通劳动力")] + family("H7", 7))
    results = []
    for insert_first in (True, False):
        if not insert_first:
            monkeypatch.setattr(ChunkWriter, "_write_new", lambda *args: False)
        reports = [run(first).as_dict(), run(first).as_dict(), run(second).as_dict()]
        history = sorted(db.session.execute(select(MemberChange.field, MemberChange.old,
                                                   MemberChange.new)).all())
        results.append((reports, _registry(), history))
        for table in ("member_changes", "members", "households"):
            db.session.execute(Household.metadata.tables[table].delete())
        db.session.commit()
    assert results[0] == results[1]
    reports = results[0][0]
    assert reports[0]["households_created"] == 3 and reports[0]["rejected"] == 6
    assert reports[1]["unchanged"] == 9 and reports[2]["households_created"] == 2


def test_unusable_files_import_nothing(export, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    report = run(path)
    assert report.exit_code == 2 and report.as_dict()["errors"][0]["code"] == "no_header"


def test_cli_report_and_exit_codes(app, export, tmp_path):
    runner = app.test_cli_runner()
    bad = family("H2", 2)
    bad[0]["证件号码"] = "6.21123E+17"
    path = export(family("H1", 1) + bad, encoding="gbk")
    out = tmp_path / "report.json"
    result = runner.invoke(args=["households", "import", str(path), "--report", str(out)])
    assert result.exit_code == 1, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    for key in ("rows", "households_created", "households_updated", "members_created",
                "members_updated", "unchanged", "rejected", "warnings", "errors"):
        assert key in data
    assert data["errors"][0] == {"row": 5, "column": "证件号码", "code": "id_excel_float",
                                 "message": data["errors"][0]["message"]}
    assert "文本" in data["errors"][0]["message"]  # shown in Chinese
    assert runner.invoke(args=["households", "import", str(export(family("H3", 3)))]).exit_code == 0
    assert runner.invoke(args=["households", "import", str(tmp_path / "nope.csv")]).exit_code == 2


def test_large_files_use_a_helper_process_with_the_same_result(export, monkeypatch):
    from lms.households.importing import pipeline

    bad = family("H2", 2)
    bad[0]["证件号码"] = "123"
    rows = family("H1", 1) + bad + family("H3", 3)
    path = export(rows)
    inline = run(path, dry_run=True).as_dict()
    monkeypatch.setattr(pipeline, "PIPELINE_MIN_BYTES", 0)
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    helped = run(path).as_dict()
    helped.pop("dry_run"), inline.pop("dry_run")
    assert helped == inline and helped["households_created"] == 2
    assert count(Member) == 6


def test_ids_repeated_across_chunks_are_caught(export, monkeypatch):
    from lms.households.importing import pipeline

    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 3)
    twice = family("H3", 3)
    twice[1]["证件号码"] = make_id("19820202", 12)  # the spouse of H1, two chunks earlier
    report = run(export(family("H1", 1) + family("H2", 2) + twice))
    assert own_codes(report) == ["id_duplicate"] and report.households_created == 2


def test_quick_column_tests_give_what_the_row_by_row_checks_give(tmp_path):
    """The validator's whole-column shortcuts (clean ID numbers, birth dates spelled as
    in the ID, no student with an education, work place exactly with months) against
    its row-by-row checks (``quick=False``), on a synthetic export with a few rows
    spoilt: the same values, errors and warnings, chunk by chunk; the import writes
    nothing but what the validator gives.  Each rule alone: test_column_rules.py."""
    import csv as csvlib

    from lms.extensions import db
    from lms.households.importing.pipeline import whole_households
    from lms.households.spreadsheet import open_sheet
    from lms.households.synth import regions_path, write
    from lms.households.validation import RegionIndex, RowValidator
    from lms.regions.models import Region
    from lms.regions.services import import_regions

    path = tmp_path / "m.csv"
    write(str(path), 60, seed=5, counties=("621123", "621102"))
    with open(regions_path(str(path)), encoding="utf-8") as fh:
        import_regions(fh.read())
    db.session.commit()
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csvlib.reader(fh))
    head = rows[0]
    rows[5][head.index("证件号码")] = rows[5][head.index("证件号码")].lower()[:17] + "x"
    rows[9][head.index("出生日期")] = "1999-01-01"
    rows[12][head.index("务工时间（月）")] = "3"
    student = head.index("在校生状况")
    rows[20][head.index("文化程度")] = "小学"
    rows[20][student] = next(r[student] for r in rows[1:] if r[student].strip())
    rows[30][head.index("证件号码")] = "123"
    spoilt = tmp_path / "spoilt.csv"
    with open(spoilt, "w", encoding="utf-8", newline="") as fh:
        csvlib.writer(fh).writerows(rows)

    def validated(p, quick):
        sheet = open_sheet(p)
        regions = RegionIndex(db.session.execute(
            select(Region.code, Region.name, Region.level, Region.parent_code)))
        validator = RowValidator(sheet.mapping, sheet.headers, regions, default_year=2024,
                                 quick=quick)
        width = max(sheet.mapping.values()) + 1
        blocks = whole_households(sheet.column_blocks(25, width), sheet.mapping["household_no"])
        return [validator.validate(numbers, columns) for numbers, columns in blocks]

    for p in (path, spoilt):
        assert validated(p, True) == validated(p, False)
    clean, bad = validated(path, True), validated(spoilt, True)
    assert not any(c.errors for c in clean)
    assert {e.code for c in bad for e in c.errors} >= {"birth_mismatch", "work_together",
                                                       "education_and_student"}

def test_a_split_found_late_undoes_the_first_run_regions_too(export, monkeypatch):
    """The import runs once hoping no household is split; meeting one, it goes back to
    its savepoint (regions it created included) and runs again knowing the split ones."""
    from lms.extensions import db
    from lms.households.importing import pipeline
    from lms.households.importing import run as run_module
    from lms.regions.models import Region

    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    first_pass = []
    split_of = run_module.households_split_in
    monkeypatch.setattr(run_module, "households_split_in",
                        lambda sheet: first_pass.append(1) or split_of(sheet))
    run(export(family("H1", 1) + family("H2", 2)))
    assert first_pass == []  # nothing split: one run, no first pass

    new = family("H3", 3, village="621123102005")
    for r in new:
        r.update(乡="新设镇", 村="新设村")
    h4 = family("H4", 4)
    report = run(export(new + h4[:1] + family("H5", 5) + h4[1:]), create_regions=True)
    assert first_pass == [1]
    assert [c for _r, c in codes(report)] == ["household_split", "household_split"]
    assert (report.households_created, report.rejected) == (2, 3)
    assert db.session.get(Region, "621123102005").name == "新设村"
    assert count(Household) == 4 and db_household("H4") is None


def test_new_households_get_their_members_whatever_ids_the_database_gives(export):
    """On SQLite the writer takes the next ids in turn for the households it has just
    inserted and checks that it may; past the largest id SQLite picks them at random,
    and the writer reads them back."""
    from lms.extensions import db

    if db.engine.dialect.name == "sqlite":
        db.session.execute(Household.__table__.insert().values(
            id=2**63 - 1, household_no="H0", village_code=VILLAGE, year=2024))
        db.session.commit()
    report = run(export(family("H1", 1) + family("H2", 2)))
    assert report.households_created == 2 and report.members_created == 6
    assert member_by_id_number(make_id("19800101", 11)).household.household_no == "H1"
    assert member_by_id_number(make_id("19820202", 22)).household.household_no == "H2"
