"""The household file's columns (the national member export's): its ``Layout`` for the shared
reader (lms.spreadsheets.sheet), which opens it; and the household import's quick first look at
one column (``column``: the household numbers, read as bytes where it can)."""
from __future__ import annotations

import csv
import itertools
import operator
import os
from collections.abc import Iterator

from lms.spreadsheets.sheet import Layout, Sheet, SheetError, open_sheet as _open_sheet
from lms.spreadsheets.sheet import header_field as _header_field

__all__ = ["HEADERS", "HOUSEHOLD_LAYOUT", "REGION_BY_NAME", "REQUIRED", "IrregularLines", "SheetError", "column",
           "header_field", "open_sheet"]

# field → accepted headers (the first is the national export's own header).
HEADERS: dict[str, tuple[str, ...]] = {
    "province": ("省", "省份", "省(区、市)"),
    "city": ("市", "市(州)", "地市"),
    "county": ("县", "县(市、区)", "县区", "县(区)"),
    "township": ("乡", "乡(镇)", "乡镇", "乡镇(街道)"),
    "village": ("村", "行政村", "村(社区)"),
    "village_code": ("村代码", "区划代码", "行政区划代码", "村级区划代码", "统计用区划代码"),
    "household_no": ("户编号", "户码", "家庭编号"),
    "person_no": ("人口编号", "成员编号"),
    "name": ("姓名", "成员姓名"),
    "sex": ("性别",),
    "birth_date": ("出生日期",),
    "doc_type": ("证件类型",),
    "id_number": ("证件号码", "身份证号", "身份证号码", "公民身份号码", "身份证件号码"),
    "ethnicity": ("民族",),
    "household_phone": ("户联系电话", "联系电话"),
    "phone": ("成员联系电话", "手机号码", "本人联系电话"),
    "year": ("年度", "建档年度"),
    "relation": ("与户主关系",),
    "education": ("文化程度",),
    "student_status": ("在校生状况", "在校生情况"),
    "labour_skill": ("劳动技能", "劳动能力"),
    "work_months": ("务工时间（月）", "务工时间", "务工时间(月)", "务工时长（月）"),
    "health": ("健康状况",),
    "politics": ("政治面貌",),
    "employer": ("务工企业名称",),
    "dibao": ("是否享受低保",),
    "dropout_reason": ("失学或辍学原因",),
    "mandarin": ("是否会讲普通话",),
    "work_place": ("务工所在地", "务工地点"),
    "head_name": ("户主姓名",),
    "head_id_number": ("户主证件号码", "户主身份证号"),
    "tekun": ("是否特困供养人员",),
    "disability": ("残疾类别",),
    "standard": ("识别标准",),
    "household_type": ("贫困户属性",),
    "main_cause": ("主要致贫原因",),
    "other_causes": ("其他致贫原因",),
    "poverty_status": ("脱贫状态",),
    "exit_year": ("脱贫年度",),
}

REQUIRED = ("household_no", "name", "id_number", "relation", "labour_skill")
REGION_BY_NAME = ("county", "township", "village")

# A village by its 12-digit code, or by the names of its county, township and village.
HOUSEHOLD_LAYOUT = Layout(HEADERS, REQUIRED, either=("village_code", REGION_BY_NAME))


def open_sheet(path: str | os.PathLike, filename: str | None = None) -> Sheet:
    """Open a member export (CSV or XLSX); SheetError when it cannot be used."""
    return _open_sheet(path, filename, HOUSEHOLD_LAYOUT)


def header_field(text: str) -> str | None:
    """The household field a header cell names, or None."""
    return _header_field(text, HOUSEHOLD_LAYOUT)


def column(sheet: Sheet, index: int, *, as_text: bool = False) -> Iterator[str]:
    """One column's cells for the data rows that ``sheet.blocks()`` gives ("" where a
    row is short), where a cell equal to the one before may be left out.  Reads
    the file again, a CSV without parsing the other columns: the import's quick
    first look at the household numbers.  A CSV in UTF-8 or GB18030 is read as
    bytes unless ``as_text``; IrregularLines when it has to be read as text."""
    if sheet.format != "csv":
        again = _open_sheet(sheet.path, "sheet.xlsx", sheet.layout)
        for _numbers, block in again.blocks(5000):
            yield from (cells[index] if len(cells) > index else "" for cells in block)
        return
    try:
        if sheet.encoding in _LINES_SPLIT_AS_BYTES and not as_text:
            yield from _csv_column_bytes(sheet.path, sheet.encoding, sheet.delimiter,
                                         sheet.header_row, index)
            return
        with open(sheet.path, encoding=sheet.encoding, newline="", errors="strict") as fh:
            yield from _csv_column(fh, sheet.delimiter, sheet.header_row, index)
    except UnicodeDecodeError as exc:
        raise SheetError("encoding", encoding=sheet.encoding) from exc


# Longer lines go through csv.reader, which enforces its field size limit.
_LONG_LINE = 100_000
# Encodings in which a byte that looks like ASCII "\n", "\r", '"', NUL or a delimiter
# always is that character (never part of a multi-byte one).
_LINES_SPLIT_AS_BYTES = ("utf-8", "utf-8-sig", "gb18030")


class IrregularLines(Exception):
    """A CSV the byte reader cannot split into rows (a lone CR: a line break in
    text mode, not in bytes): read it as text."""


def _csv_column_bytes(path: str, encoding: str, delimiter: str, skip: int,
                      index: int) -> Iterator[str]:
    """``_csv_column`` reading bytes, about a megabyte of lines at a time: the
    lines are split as bytes up to the cell wanted (in C, no Python step per
    line), and only the first cell of a run of equal cells is decoded and given.
    A block with something unusual (a quote before the cell or a quoted cell that
    may go on over lines, a short or blank row, a NUL) is read line by line; a
    lone CR (a line break in text mode, not here) raises IrregularLines."""
    sep = delimiter.encode("ascii")
    with open(path, "rb") as fh:
        decoded = (line.decode(encoding) for line in fh)
        try:
            for _ in itertools.islice(csv.reader(decoded, delimiter=delimiter), skip):
                pass
        except csv.Error:
            raise IrregularLines() from None
        split = operator.methodcaller("split", sep, index + 1)
        crlf = operator.methodcaller("endswith", b"\r\n")
        last = None
        while lines := fh.readlines(1 << 20):
            block = b"".join(lines)
            if block.count(b"\r") != sum(map(crlf, lines)):
                raise IrregularLines()
            cells = list(map(split, lines))
            if (min(map(len, cells)) > index + 1 and b"\0" not in block
                    and max(map(len, lines)) < _LONG_LINE
                    and all(raws := list(map(operator.itemgetter(index), cells)))
                    and (b'"' not in block or _quotes_after(lines, cells, sep))):
                for raw, _run in itertools.groupby(raws):
                    if raw != last:
                        last = raw
                        yield raw.decode(encoding)
                continue
            last = None
            rest = iter(lines)
            more = (line.decode(encoding) for line in itertools.chain(rest, fh))
            for line in rest:
                if b"\0" in line or b'"' in line or len(line) >= _LONG_LINE:
                    try:
                        row = next(csv.reader(itertools.chain((line.decode(encoding),), more),
                                              delimiter=delimiter))
                    except csv.Error:
                        raise IrregularLines() from None
                else:
                    row = line.rstrip(b"\r\n").split(sep)
                if row and (row[0] or any(row)):
                    cell = row[index] if len(row) > index else ""
                    yield cell if cell.__class__ is str else cell.decode(encoding)


def _quotes_after(lines: list[bytes], cells: list[list[bytes]], sep: bytes) -> bool:
    """Whether every line with a quote has it only after the cell wanted (the last
    but one of its ``cells``), and is a whole row on its own."""
    for k in itertools.compress(range(len(lines)), map(operator.contains, lines,
                                                         itertools.repeat(b'"'))):
        line, rest = lines[k], cells[k][-1]
        if line.find(b'"') < len(line) - len(rest) or not _whole_row(rest.rstrip(b"\r\n"), sep):
            return False
    return True


def _whole_row(text: bytes, sep: bytes) -> bool:
    """Whether csv.reader reads ``text`` (a line without its line break, or the
    rest of one from the start of a cell) as a whole row: no quoted cell left open
    at its end.  A quote opens a quoted cell only at the start of a cell (elsewhere
    it is kept as it is); in a quoted cell a doubled quote is a quote."""
    pos = 0
    while (quote := text.find(b'"', pos)) >= 0:
        if quote and text[quote - 1:quote] != sep:
            pos = quote + 1  # inside an unquoted cell: an ordinary character
            continue
        close = quote + 1
        while True:
            close = text.find(b'"', close)
            if close < 0:
                return False  # still open at the end of the line
            if text[close + 1:close + 2] != b'"':
                break
            close += 2
        pos = close + 1
    return True


def _csv_column(fh, delimiter: str, skip: int, index: int) -> Iterator[str]:
    """Column ``index`` of the rows after the first ``skip`` that csv.reader reads
    from ``fh``, blank rows left out.  A line without a quote is its text split at
    the delimiter (as csv.reader reads it), so only the first columns are split; a
    line with a quote (which may run on over several lines), a NUL or a very long
    field goes through csv.reader."""
    reader = csv.reader(fh, delimiter=delimiter)
    for _ in itertools.islice(reader, skip):
        pass
    strip = "\r\n"
    for line in fh:
        if '"' in line or "\0" in line or len(line) >= _LONG_LINE:
            cells = next(csv.reader(itertools.chain((line,), fh), delimiter=delimiter))
            if cells and (cells[0] or any(cells)):
                yield cells[index] if len(cells) > index else ""
            continue
        line = line.rstrip(strip)
        if line.strip(delimiter):  # not a blank row (only delimiters)
            cells = line.split(delimiter, index + 1)
            yield cells[index] if len(cells) > index else ""
