"""The open cases as an Excel workbook: the columns of the village page, headers in Chinese."""
from __future__ import annotations

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


def cases_xlsx(rows, heading: str):
    """The workbook's bytes as a stream (``lms.exports.xlsx_stream``): ``rows`` (an iterator, as
    ``queries.export_rows`` gives them) are read while the file is sent; every value a text cell."""
    from lms.exports import xlsx_stream

    columns = case_columns()
    with force_locale("zh_Hans_CN"):
        header = [str(label) for _key, label in columns]

    def lines():
        yield [heading]
        yield header
        for row in rows:
            yield [row.get(key, "") for key, _label in columns]

    return xlsx_stream(lines(), sheet="跟踪销号", widths=(16, 16, 10, 30, 12, 12, 24, 12, 30))
