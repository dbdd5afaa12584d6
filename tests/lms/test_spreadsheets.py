"""The shared spreadsheet-import pieces (lms.spreadsheets): the layout's column rules, the row
numbers, the messages by code, and the report every import writes."""
import json

import pytest

from lms.spreadsheets.report import REPORT_LIMIT, SHEET, ImportReport, Issue, Messages
from lms.spreadsheets.sheet import Layout, SheetError, map_columns, open_sheet, read_text

LAYOUT = Layout({"code": ("村代码", "区划代码"), "county": ("县",), "township": ("乡",), "village": ("村",),
                 "name": ("姓名",), "id_number": ("证件号码",)},
                ("name", "id_number"), either=("code", ("county", "township", "village")))


def test_a_field_or_its_group_of_others_and_missing_ones_named_by_their_first_header():
    assert map_columns(["姓名", "证件号码", "区划代码", "备注"], LAYOUT) == (
        {"name": 0, "id_number": 1, "code": 2}, ["备注"])
    assert map_columns(["县", "乡", "村", "姓名", "证件号码"], LAYOUT)[0]["village"] == 2
    with pytest.raises(SheetError) as info:
        map_columns(["县", "村", "姓名"], LAYOUT)
    assert info.value.code == "missing_columns" and info.value.params == {"columns": "证件号码、村代码"}


def test_rows_are_numbered_as_the_official_sees_them_below_a_title_row(tmp_path):
    text = "2024年名单\n姓名,证件号码,村代码\n张三,1,621123100201\n\n李四,2,621123100201\n"
    assert [n for n, _ in read_text(text, LAYOUT).rows()] == [3, 5]
    path = tmp_path / "名单.csv"
    path.write_bytes(text.encode("gbk"))  # the same table from a county's computer
    sheet = open_sheet(path, None, LAYOUT)
    assert (sheet.encoding, sheet.header_row) == ("gb18030", 2)
    assert [(n, cells[0]) for n, cells in sheet.rows()] == [(3, "张三"), (5, "李四")]


def test_messages_by_code_with_variants_and_the_sheets_own(app):
    messages = Messages({"taken": "Taken by row %(row)s."}, {("taken", "household"): "Taken in %(household)s."},
                        base=SHEET)
    with app.test_request_context():
        assert messages("taken", {"row": 4}) == "Taken by row 4."
        assert messages("taken", {"household": "H1"}) == "Taken in H1."
        assert messages("empty", {}) == "文件是空的。"  # the sheet's own, in Chinese
        assert messages("no_such_code", {}) == "no_such_code"


def test_the_report_keeps_exact_counts_beyond_its_limit_and_says_the_exit_code(app):
    class Report(ImportReport):
        COUNTS = ("created",)
        created = 0

    report = Report()
    report.reject([Issue(n, "姓名", "required") for n in range(REPORT_LIMIT + 5, 1, -1)])
    data = report.as_dict()
    assert (report.error_count, len(report.errors), data["exit_code"]) == (REPORT_LIMIT + 4, REPORT_LIMIT, 1)
    assert list(data)[:4] == ["rows", "created", "unchanged", "rejected"]
    assert [e["row"] for e in data["errors"][:2]] == sorted(e.row for e in report.errors)[:2]
    report.file_unusable("empty")
    assert report.exit_code == 2


GBK_REGIONS = "行政区划表\ncode,name,level,parent_code\n620000000000,甘肃省,1,\n621100000000,定西市,9,620000000000\n"


def test_the_region_import_reads_any_spreadsheet_the_other_imports_read(runner, db, tmp_path):
    from lms.regions.models import Region

    path = tmp_path / "区划.csv"
    path.write_bytes(GBK_REGIONS.encode("gbk"))
    report_path = tmp_path / "report.json"
    result = runner.invoke(args=["regions", "import", str(path), "--report", str(report_path)])
    assert result.exit_code == 1, result.output
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert [(e["row"], e["code"]) for e in report["errors"]] == [(4, "bad_level")]
    assert (report["created"], report["header_row"], report["encoding"]) == (1, 2, "gb18030")
    assert db.session.get(Region, "620000000000").name == "甘肃省"
