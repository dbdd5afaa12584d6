import pytest
from openpyxl import Workbook

from lms.households.spreadsheet import SheetError, open_sheet

from .records import make_id, row


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


# Household numbers H1…: H2 is split by H9's row, H3 only by a blank row (not split),
# H4's rows are split by a row without a number, H5 has a quoted cell over two lines.
_TRICKY = ["H1,张三,\"a,b\",x\r\n", "H2,李四,x,y\r\n", "H9,\"王,五\",1,2\r\n", "H2,\"a\"\"b\",1,2\r\n",
           "H3,a,1,2\r\n", ",,,\r\n", "H3,b,1,2\r\n", "H4,c,1,2\r\n", ",d,1,2\r\n", "H4,e,1,2\r\n",
           "H5,\"多\r\n行\",1,2\r\n", "H5,f,1,2\r\n", "x\"y,g,1,2\r\n", "H2,h,\"i\r\n", "j\",2\r\n"]


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r"])
def test_first_look_at_household_numbers_reads_as_csv_does(tmp_path, encoding, line_break):
    """The import's quick first pass (bytes, or text for a lone CR) finds the same
    split households as reading every row with csv.reader."""
    from lms.households.importing.pipeline import households_split_in

    path = tmp_path / "m.csv"
    path.write_bytes(("户编号,姓名,证件号码,与户主关系,劳动技能,村代码" + line_break + "".join(
        line.replace("\r\n", line_break) for line in _TRICKY)).encode(encoding))
    rows = [cells for _numbers, block in open_sheet(path).blocks(4) for cells in block]
    assert len(rows) == 13 and rows[9][1] == "多" + line_break + "行"
    assert households_split_in(open_sheet(path)) == {"H2", "H4"}


def test_first_look_splits_plain_blocks_in_one_go(tmp_path, monkeypatch):
    """Megabyte blocks of plain lines (quotes only after the household number) take
    the quick path, and a household is followed across blocks."""
    from lms.households import spreadsheet
    from lms.households.importing.pipeline import households_split_in

    quick = []
    check = spreadsheet._quotes_after
    monkeypatch.setattr(spreadsheet, "_quotes_after", lambda *a: quick.append(check(*a)) or quick[-1])
    lines = [f"H{k // 3},张三,\"a,b\",x\r\n" for k in range(150_000)]
    for split in (False, True):
        path = tmp_path / "m.csv"
        path.write_text("户编号,姓名,证件号码,与户主关系,劳动技能,村代码\r\n" + "".join(lines)
                        + ("H7,李四,1,2\r\n" if split else ""), encoding="utf-8", newline="")
        assert households_split_in(open_sheet(path)) == ({"H7"} if split else set())
    assert len(quick) > 4 and all(quick)
