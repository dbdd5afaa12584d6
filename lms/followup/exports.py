"""The open cases as an Excel workbook: the columns of the village page, headers in Chinese."""
from __future__ import annotations

import io

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l


def case_columns():
    return [
        ("village", _l("Village")),
        ("household_no", _l("Household number")),
        ("name", _l("Name")),
        ("measure", _l("Measure (course or class)")),
        ("owner", _l("Assigned by")),
        ("due_on", _l("Due date")),
        ("status", _l("Status")),
        ("review_on", _l("Review date")),
        ("note", _l("Note")),
    ]


def cases_xlsx(rows: list[dict], heading: str) -> bytes:
    from openpyxl import Workbook

    from lms.exports import append_row

    # Write-only: a county's cases can be tens of thousands of rows.
    book = Workbook(write_only=True)
    sheet = book.create_sheet("跟踪销号")
    columns = case_columns()
    for i, width in enumerate((16, 16, 10, 30, 12, 12, 24, 12, 30)):
        sheet.column_dimensions[chr(ord("A") + i)].width = width
    append_row(sheet, [heading])
    with force_locale("zh_Hans_CN"):
        append_row(sheet, [str(label) for _key, label in columns])
    for row in rows:
        append_row(sheet, [row.get(key, "") for key, _label in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
