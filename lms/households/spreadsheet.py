"""Reading officials' member exports: CSV in any of the usual encodings or XLSX,
header row found (not assumed to be row 1), columns mapped by Chinese header."""
from __future__ import annotations

import codecs
import csv
import itertools
import operator
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from .text import clean_cell, normalize

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

_HEADER_LOOKUP = {normalize(h).rstrip("*"): f for f, names in HEADERS.items() for h in names}


@dataclass(frozen=True)
class Layout:
    """Which columns a kind of file has: field → accepted headers, the required fields, and whether
    a village (code, or county + township + village names) is required. Other imports (skill
    certificates) read their files with this same reader and their own layout."""

    headers: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    needs_region: bool = False

    @property
    def lookup(self) -> dict[str, str]:
        table = _LOOKUPS.get(id(self))
        if table is None:
            table = _LOOKUPS[id(self)] = {normalize(h).rstrip("*"): f for f, names in self.headers.items()
                                          for h in names}
        return table


_LOOKUPS: dict[int, dict[str, str]] = {}
# A title row above the header is common; look this far down for the header.
HEADER_SCAN_ROWS = 30
_SAMPLE = 256 * 1024


class SheetError(Exception):
    """The file cannot be used at all (exit code 2)."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def header_field(text: str, layout: Layout | None = None) -> str | None:
    lookup = _HEADER_LOOKUP if layout is None else layout.lookup
    return lookup.get(normalize(clean_cell(text)).rstrip("*"))


@dataclass
class Sheet:
    """An opened export: format, encoding, header row and column mapping."""

    path: str
    format: str
    encoding: str | None
    header_row: int  # 1-based, as the official sees it
    headers: list[str]
    mapping: dict[str, int]  # field → column index
    unknown_columns: list[str] = field(default_factory=list)
    _rows: Iterator[list] | None = None
    delimiter: str = ","  # CSV only
    _reader: Iterator[list] | None = None  # CSV: the rows straight from csv.reader

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells as cleaned text) for every non-empty data row."""
        rows, self._rows = self._rows, None
        if rows is None:
            raise RuntimeError("rows() can be read once")
        number = self.header_row
        for cells in rows:
            number += 1
            if self.format == "xlsx":
                cells = [_xlsx_text(c) for c in cells]
            if cells and (cells[0] or any(cells)):
                yield number, cells

    def blocks(self, size: int) -> Iterator[tuple[list[int], list[list[str]]]]:
        """The data rows ``size`` at a time as (row numbers, rows), blank rows left
        out: the import's hot path, without a Python step per row where it can."""
        rows, self._rows = self._rows, None
        if rows is None:
            raise RuntimeError("the rows can be read once")
        # The CSV reader itself, without the per-row step of the checking ``rows``
        # (which is held on to: dropping it closes the file).
        raw = self._reader or rows
        base = self.header_row + 1
        while block := _next_block(raw, size, self.encoding):
            if self.format == "xlsx":
                block = [[_xlsx_text(c) for c in cells] for cells in block]
            numbers = range(base, base + len(block))
            base += len(block)
            if all(map(operator.itemgetter(0), filter(None, block))) and all(block):
                yield list(numbers), block
                continue
            keep = [k for k, cells in enumerate(block) if cells and (cells[0] or any(cells))]
            if keep:
                yield [numbers[k] for k in keep], [block[k] for k in keep]

    def column_blocks(self, size: int, width: int) -> Iterator[tuple[list[int], list[tuple]]]:
        """``blocks()`` as (row numbers, columns): a tuple for each of the first
        ``width`` columns ("" where a row is short).  The validator works column
        by column; one transposition in C here is cheaper than picking each
        column out of the rows."""
        for numbers, rows in self.blocks(size):
            yield numbers, _columns(rows, width)

    def column(self, index: int, *, as_text: bool = False) -> Iterator[str]:
        """One column's cells for the data rows that ``blocks()`` gives ("" where a
        row is short), where a cell equal to the one before may be left out.  Reads
        the file again, a CSV without parsing the other columns: the import's quick
        first look at the household numbers.  A CSV in UTF-8 or GB18030 is read as
        bytes unless ``as_text``; IrregularLines when it has to be read as text."""
        if self.format != "csv":
            sheet = open_sheet(self.path, "sheet.xlsx")
            for _numbers, block in sheet.blocks(5000):
                yield from (cells[index] if len(cells) > index else "" for cells in block)
            return
        try:
            if self.encoding in _LINES_SPLIT_AS_BYTES and not as_text:
                yield from _csv_column_bytes(self.path, self.encoding, self.delimiter,
                                             self.header_row, index)
                return
            with open(self.path, encoding=self.encoding, newline="", errors="strict") as fh:
                yield from _csv_column(fh, self.delimiter, self.header_row, index)
        except UnicodeDecodeError as exc:
            raise SheetError("encoding", encoding=self.encoding) from exc

    def preview(self, n: int = 5) -> list[tuple[int, list[str]]]:
        """The first n data rows; consumes the sheet (open it again to import)."""
        return list(itertools.islice(self.rows(), n))


def _next_block(rows, size: int, encoding: str | None) -> list:
    try:
        return list(itertools.islice(rows, size))
    except UnicodeDecodeError as exc:
        raise SheetError("encoding", encoding=encoding) from exc


def _xlsx_text(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        # Past 15 digits Excel has already lost the number's tail: keep the
        # exponent form so an ID number stored as a number is recognised.
        return f"{value:E}" if abs(value) >= 1e15 else repr(value)
    if hasattr(value, "strftime"):
        return value.strftime("%Y%m%d")
    return str(value)


def detect_encoding(sample: bytes) -> str:
    """The text encoding of a CSV, from its first bytes."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A sample cut inside a multi-byte character is still UTF-8.
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    import charset_normalizer

    best = charset_normalizer.from_bytes(sample).best()
    encoding = best.encoding if best else None
    if encoding is None or encoding.replace("_", "").lower() in ("gbk", "gb2312", "gb18030", "hz"):
        # GB18030 is a superset of GBK and GB2312: it reads all three.
        return "gb18030"
    return encoding


def _find_header(rows: Iterator[list], layout: Layout | None = None) -> tuple[int, list[str], list[list]]:
    """(1-based header row, header cells, rows read before the data)."""
    seen = list(itertools.islice(rows, HEADER_SCAN_ROWS))
    best, best_hits = None, 0
    for i, cells in enumerate(seen):
        hits = sum(1 for c in cells if isinstance(c, str) and c and header_field(c, layout))
        if hits > best_hits:
            best, best_hits = i, hits
    if best is None or best_hits < min(3, len((layout or HOUSEHOLD_LAYOUT).required)):
        raise SheetError("no_header")
    return best + 1, [clean_cell(c) for c in seen[best]], seen[best + 1:]


def _map_columns(headers: list[str], layout: Layout | None = None) -> tuple[dict[str, int], list[str]]:
    layout = layout or HOUSEHOLD_LAYOUT
    mapping, unknown = {}, []
    for i, text in enumerate(headers):
        if not text:
            continue
        f = header_field(text, layout)
        if f is None:
            unknown.append(text)
        elif f not in mapping:
            mapping[f] = i
    missing = [f for f in layout.required if f not in mapping]
    if layout.needs_region and "village_code" not in mapping and not all(f in mapping for f in REGION_BY_NAME):
        missing.append("village_code")
    if missing:
        raise SheetError("missing_columns", columns="、".join(layout.headers.get(f, HEADERS.get(f, (f,)))[0]
                                                             for f in missing))
    return mapping, unknown


def open_sheet(path: str | os.PathLike, filename: str | None = None, layout: Layout | None = None) -> Sheet:
    """Open a CSV or XLSX export; SheetError when it cannot be used."""
    path = os.fspath(path)
    name = (filename or path).lower()
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SAMPLE)
    except OSError as exc:
        raise SheetError("unreadable", reason=exc.strerror or str(exc)) from exc
    if head.startswith(b"PK\x03\x04") or name.endswith((".xlsx", ".xlsm", ".xls")):
        return _open_xlsx(path, layout)
    return _open_csv(path, head, layout)


def _open_csv(path: str, head: bytes, layout: Layout | None = None) -> Sheet:
    if not head.strip():
        raise SheetError("empty")
    encoding = detect_encoding(head)
    sample = head.decode(encoding, errors="replace")
    try:
        dialect = csv.Sniffer().sniff(sample[:8192], delimiters=",\t;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    fh = open(path, encoding=encoding, newline="", errors="strict")
    rows = csv.reader(fh, delimiter=delimiter)

    def stream():
        try:
            yield from rows
        except UnicodeDecodeError as exc:
            raise SheetError("encoding", encoding=encoding) from exc
        finally:
            fh.close()

    it = stream()
    try:
        header_row, headers, buffered = _find_header(it, layout)
        mapping, unknown = _map_columns(headers, layout)
    except BaseException:
        it.close()
        raise
    return Sheet(path, "csv", encoding, header_row, headers, mapping, unknown,
                 itertools.chain(buffered, it), delimiter,
                 None if fh.closed else itertools.chain(buffered, rows))  # closed: all read


# Longer lines go through csv.reader, which enforces its field size limit.
_LONG_LINE = 100_000


def _columns(rows: list, width: int) -> list[tuple]:
    """Rows (lists of cells) as ``width`` columns, short rows padded with ""."""
    if min(map(len, rows)) < width:
        rows = [r if len(r) >= width else list(r) + [""] * (width - len(r)) for r in rows]
    return list(itertools.islice(zip(*rows), width))


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


def _open_xlsx(path: str, layout: Layout | None = None) -> Sheet:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(path)
        sheet = book.get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except Exception as exc:  # calamine raises its own error types
        raise SheetError("unreadable", reason=str(exc)) from exc
    # calamine starts at the first used cell: count the blank rows above it.
    offset = sheet.start[0] if sheet.start else 0
    header_row, headers, buffered = _find_header(rows, layout)
    mapping, unknown = _map_columns(headers, layout)
    return Sheet(path, "xlsx", None, header_row + offset, headers, mapping, unknown,
                 itertools.chain(buffered, rows))


HOUSEHOLD_LAYOUT = Layout(HEADERS, REQUIRED, needs_region=True)
