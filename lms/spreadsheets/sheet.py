"""Reading officials' spreadsheets: CSV in any of the usual encodings or XLSX, header row found
(not assumed to be row 1), columns mapped by Chinese header through a ``Layout``, rows numbered as
the official sees them.

Every spreadsheet import reads its file here with its own layout: the household import
(lms.households.spreadsheet, whose hot path ``blocks``/``column`` serve), the skill certificate
import (lms.skills.imports) and the region import (lms.regions.services, also from text). A file that cannot be used raises ``SheetError`` with a code of
``lms.spreadsheets.report.SHEET_MESSAGES``.
"""
from __future__ import annotations

import codecs
import csv
import io
import itertools
import operator
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from lms.spreadsheets.text import clean_cell, normalize

@dataclass(frozen=True)
class Layout:
    """Which columns a kind of file has: field → accepted headers (the first is the one named in
    messages), the required fields, and optionally ``either``: a field that may be replaced by a
    group of others (the household file's 村代码, or the county, township and village names)."""

    headers: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    either: tuple[str, tuple[str, ...]] | None = None

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
    """The file cannot be used at all (exit code 2); ``code`` and ``params`` make its message."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def header_field(text: str, layout: Layout) -> str | None:
    """The field of ``layout`` a header cell names, or None."""
    return layout.lookup.get(normalize(clean_cell(text)).rstrip("*"))


@dataclass
class Sheet:
    """An opened export: format, encoding, header row and column mapping."""

    path: str
    layout: Layout
    format: str
    encoding: str | None
    header_row: int  # 1-based, as the official sees it
    headers: list[str]
    mapping: dict[str, int]  # field → column index
    unknown_columns: list[str] = field(default_factory=list)
    _rows: Iterator[list] | None = None
    delimiter: str = ","  # CSV only
    _reader: Iterator[list] | None = None  # CSV: the rows straight from csv.reader

    def header(self, name: str) -> str:
        """The column of a field as the official's file heads it (or, when the file lacks it, the
        layout's first header): what an issue names."""
        index = self.mapping.get(name)
        return self.headers[index] if index is not None else self.layout.headers[name][0]

    def cell(self, cells: list[str], name: str) -> str:
        """A field's cleaned text in one row ("" when the file lacks the column or the row is short)."""
        index = self.mapping.get(name)
        return clean_cell(cells[index]) if index is not None and index < len(cells) else ""

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


def _find_header(rows: Iterator[list], layout: Layout) -> tuple[int, list[str], list[list]]:
    """(1-based header row, header cells, rows read before the data)."""
    seen = list(itertools.islice(rows, HEADER_SCAN_ROWS))
    best, best_hits = None, 0
    for i, cells in enumerate(seen):
        hits = sum(1 for c in cells if isinstance(c, str) and c and header_field(c, layout))
        if hits > best_hits:
            best, best_hits = i, hits
    if best is None or best_hits < min(3, len(layout.required)):
        raise SheetError("no_header")
    return best + 1, [clean_cell(c) for c in seen[best]], seen[best + 1:]


def map_columns(headers: list[str], layout: Layout) -> tuple[dict[str, int], list[str]]:
    """(field → column index, the headers of no field); SheetError "missing_columns" naming the
    required ones that are not there by their first header."""
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
    if layout.either:
        one, group = layout.either
        if one not in mapping and not all(f in mapping for f in group):
            missing.append(one)
    if missing:
        raise SheetError("missing_columns", columns="、".join(layout.headers.get(f, (f,))[0] for f in missing))
    return mapping, unknown


def open_sheet(path: str | os.PathLike, filename: str | None, layout: Layout) -> Sheet:
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


def read_text(text: str, layout: Layout) -> Sheet:
    """A comma-separated table already in memory (a table the app ships): the same header search,
    mapping and row numbers as a file. ``rows()`` only."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise SheetError("empty")
    rows = csv.reader(io.StringIO(text))
    header_row, headers, buffered = _find_header(rows, layout)
    mapping, unknown = map_columns(headers, layout)
    return Sheet("", layout, "csv", None, header_row, headers, mapping, unknown, itertools.chain(buffered, rows))


def _open_csv(path: str, head: bytes, layout: Layout) -> Sheet:
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
        mapping, unknown = map_columns(headers, layout)
    except BaseException:
        it.close()
        raise
    return Sheet(path, layout, "csv", encoding, header_row, headers, mapping, unknown,
                 itertools.chain(buffered, it), delimiter,
                 None if fh.closed else itertools.chain(buffered, rows))  # closed: all read


def _columns(rows: list, width: int) -> list[tuple]:
    """Rows (lists of cells) as ``width`` columns, short rows padded with ""."""
    if min(map(len, rows)) < width:
        rows = [r if len(r) >= width else list(r) + [""] * (width - len(r)) for r in rows]
    return list(itertools.islice(zip(*rows), width))


def _open_xlsx(path: str, layout: Layout) -> Sheet:
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
    mapping, unknown = map_columns(headers, layout)
    return Sheet(path, layout, "xlsx", None, header_row + offset, headers, mapping, unknown,
                 itertools.chain(buffered, rows))
