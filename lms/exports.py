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


def clean_text(value: str) -> str:
    """A string without the control characters XML 1.0 cannot hold (for writers that build the XML
    themselves)."""
    return _ILLEGAL.sub("", value)
