"""Writing user data into spreadsheets as text, never as formulas: the one helper every XLSX and
CSV export uses (names, free text, household numbers can come from anyone).

XLSX: openpyxl turns a string that starts with "=" into a formula; the helper writes every string
as a text cell (``data_type`` 's'), which Excel shows as typed and never evaluates, so the value is
unchanged. CSV has no cell types: Excel and LibreOffice evaluate a field that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return, so such a field gets a leading single quote
(OWASP's CSV-injection advice; Excel shows the quote only while the cell is edited). Numbers stay
numbers in both.
"""
from __future__ import annotations

import re
from decimal import Decimal
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Control characters XML 1.0 cannot hold (openpyxl refuses them with an exception): dropped, so a
# stray byte in someone's name never makes an export fail.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xlsx_cells(sheet, values: Iterable[Any]) -> list:
    """Cells for ``sheet.append``: every string a text cell, numbers and dates as they are."""
    from openpyxl.cell import Cell

    cells = []
    for value in values:
        if isinstance(value, str):
            cell = Cell(sheet, row=1, column=1, value=_ILLEGAL.sub("", value))
            cell.data_type = "s"
        else:
            cell = Cell(sheet, row=1, column=1, value=value)
        cells.append(cell)
    return cells


def append_row(sheet, values: Iterable[Any]) -> None:
    """Append one row of user data to an openpyxl sheet (normal or write-only) as text."""
    sheet.append(xlsx_cells(sheet, values))


def csv_field(value: Any) -> Any:
    """One CSV field: a string that a spreadsheet would evaluate gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list:
    """A row for ``csv.writer.writerow``."""
    return [csv_field(v) for v in values]


# Streaming XLSX --------------------------------------------------------------------------------
# openpyxl keeps a workbook's shared strings and builds a Cell per value: a province's export of
# hundreds of thousands of rows took seconds before its first byte. ``xlsx_stream`` writes the
# few XML parts of a one-sheet workbook straight into a zip that is sent while it is written:
# strings are inline text cells (``t="inlineStr"``, never a formula: the same guarantee as
# ``append_row``), numbers are numbers, ``None`` an empty cell.

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '</Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'),
    # Style 1: a number shown with two decimals (money: ``Decimal`` values).
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<styleSheet xmlns="{_NS}"><numFmts count="1"><numFmt numFmtId="164" formatCode="0.00"/></numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'),
}
_SPECIAL = re.compile(r'[\x00-\x08\x0b\x0c\x0e-\x1f&<>"]')
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


def _column_letters(n: int) -> str:
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _xlsx_row(number: int, values, letters: list[str]) -> str:
    cells = []
    for i, value in enumerate(values):
        if value is None or value == "":
            continue
        while i >= len(letters):
            letters.append(_column_letters(len(letters) + 1))
        ref = f"{letters[i]}{number}"
        if isinstance(value, bool):
            cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, Decimal):  # money: two decimals shown, the exact value stored
            cells.append(f'<c r="{ref}" s="1"><v>{value}</v></c>')
        elif isinstance(value, (int, float)):
            cells.append(f'<c r="{ref}"><v>{value!r}</v></c>')
        else:
            text = str(value)
            if _SPECIAL.search(text):
                text = _ILLEGAL.sub("", text).translate(_XML_ESCAPES)
            space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t{space}>{text}</t></is></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'


class _Sink:
    """A write-only, unseekable file for ``zipfile``: what is written waits in memory until taken."""

    def __init__(self):
        self.chunks: list[bytes] = []
        self.position = 0

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def seek(self, *_args):
        raise OSError("unseekable")

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


def _zip_entry(name: str):
    """A deflated zip entry dated 1980-01-01 (zip's earliest date), not now: the same rows give
    the same bytes (the bank's payment list is compared by its bytes when exported twice)."""
    import zipfile

    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = 1  # the fastest level: what ZipFile(compresslevel=1) sets on its own entries
    return info


def xlsx_stream(rows: Iterable[Iterable[Any]], *, sheet: str = "Sheet1", widths: Iterable[float] = (),
                batch: int = 2000) -> Iterable[bytes]:
    """The bytes of a one-sheet XLSX workbook, produced while ``rows`` (an iterator) is read: a few
    kilobytes per ``batch`` rows, never the whole workbook in memory. Strings are text cells,
    ``Decimal`` numbers with two decimals shown; the same rows give the same bytes."""
    import zipfile

    sink = _Sink()
    name = re.sub(r"[\[\]:*?/\\]", "", sheet)[:31] or "Sheet1"
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for part, text in _PARTS.items():
            book.writestr(_zip_entry(part), text)
        book.writestr(_zip_entry("xl/workbook.xml"), (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets>'
            f'<sheet name="{name.translate(_XML_ESCAPES)}" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        yield sink.take()
        cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                       for i, w in enumerate(widths, start=1))
        letters: list[str] = []
        with book.open(_zip_entry("xl/worksheets/sheet1.xml"), "w") as out:
            out.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                       f'<worksheet xmlns="{_NS}">' + (f"<cols>{cols}</cols>" if cols else "")
                       + "<sheetData>").encode())
            pending: list[str] = []
            for number, values in enumerate(rows, start=1):
                pending.append(_xlsx_row(number, values, letters))
                if len(pending) >= batch:
                    out.write("".join(pending).encode())
                    pending.clear()
                    yield sink.take()
            out.write(("".join(pending) + "</sheetData></worksheet>").encode())
    yield sink.take()
