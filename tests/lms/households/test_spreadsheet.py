import pytest
from openpyxl import Workbook

from lms.households.spreadsheet import SheetError, open_sheet

from .conftest import make_id, row


@pytest.mark.parametrize("encoding,detected", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030"),
])
def test_csv_encodings_are_detected(export, encoding, detected):
    rows = [row(name=f"张{n}", id_number=make_id(seq=n)) for n in range(1, 30)]
    sheet = open_sheet(export(rows, encoding=encoding))
    assert sheet.encoding == detected
    data = list(sheet.rows())
    assert data[0][1][sheet.mapping["name"]] == "张1"
    assert data[0][1][sheet.mapping["relation"]] == "户主"
    assert sheet.headers[0] == "户编号"  # no BOM left in the first header


def test_synonyms_any_order_unknown_columns_listed(export):
    rows = [{"备注": "x", "公民身份号码": make_id(), "劳动能力": "普通劳动力", "姓名": "王五",
             "户编号": "H1", "与户主关系": "户主", "县": "渭源县", "乡": "清源镇", "村": "示例一村",
             "联系人": "y"}]
    sheet = open_sheet(export(rows))
    assert sheet.mapping["id_number"] == 1 and sheet.mapping["labour_skill"] == 2
    assert sheet.unknown_columns == ["备注", "联系人"]


def test_title_rows_above_the_header_are_skipped(export):
    path = export([row()], before=[["建档立卡贫困人口信息"], ["导出日期：2024-01-01"]])
    sheet = open_sheet(path)
    assert sheet.header_row == 3
    assert [n for n, _ in sheet.rows()] == [4]


def test_missing_required_column_makes_the_file_unusable(export):
    rows = [{"户编号": "H1", "姓名": "张三", "证件号码": make_id(), "村代码": "621123100201"}]
    with pytest.raises(SheetError) as info:
        open_sheet(export(rows))
    assert info.value.code == "missing_columns"
    assert "与户主关系" in info.value.params["columns"] and "劳动技能" in info.value.params["columns"]


def test_no_header_row(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("hello,world\n1,2\n", encoding="utf-8")
    with pytest.raises(SheetError) as info:
        open_sheet(path)
    assert info.value.code == "no_header"


def test_unreadable_file(tmp_path):
    with pytest.raises(SheetError) as info:
        open_sheet(tmp_path / "missing.csv")
    assert info.value.code == "unreadable"


def test_xlsx_with_a_title_row_and_a_number_formatted_id(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["建档立卡贫困人口信息（渭源县）"])
    sheet.append(["户编号", "姓名", "证件号码", "与户主关系", "劳动技能", "村代码"])
    sheet.append(["H1", "张三", make_id(), "户主", "普通劳动力", "621123100201"])
    sheet.append(["H2", "李四", 621123198001011234, "户主", "普通劳动力", "621123100201"])
    path = tmp_path / "export.xlsx"
    book.save(path)
    opened = open_sheet(path)
    assert opened.format == "xlsx" and opened.header_row == 2
    rows = list(opened.rows())
    assert [n for n, _ in rows] == [3, 4]
    assert rows[0][1][2] == make_id()
    assert "E+" in rows[1][1][2]  # the float form, which the import rejects with advice
