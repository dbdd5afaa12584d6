"""The bank's payment list as an XLSX workbook: ``lms.exports.xlsx_stream`` (text cells, never
formulas; money as numbers with two decimals; the same rows give the same bytes, so exporting a
batch twice gives the same file). A county's list is 60,000 rows: openpyxl spent about 0.25 ms a
row building cell objects."""
from __future__ import annotations

from lms.exports import xlsx_stream


def workbook(sheet_name: str, rows: list[list], widths: tuple[int, ...] = ()) -> bytes:
    """The workbook's bytes: ``rows`` of str (text), int, Decimal (two decimals shown) or None."""
    return b"".join(xlsx_stream(iter(rows), sheet=sheet_name, widths=widths))
