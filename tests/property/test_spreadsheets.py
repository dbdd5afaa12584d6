"""Spreadsheet cells and headers (the household reader and validator): any header row and any
cells make a report — accepted rows, row errors, or an unusable file — never an exception."""
import csv
import io
import os
import tempfile

from hypothesis import given
from hypothesis import strategies as st

from lms.households.spreadsheet import HEADERS, header_field

from .strategies import cell_text

REAL = [names[0] for names in HEADERS.values()]
headers = st.lists(st.sampled_from(REAL) | cell_text, min_size=1, max_size=len(REAL) + 2)
cells = cell_text | st.sampled_from(["", "'", "=1+1", "6.21123E+17", "110101199003070000", "是", "否",
                                     "户主", "男", "女", "1990-01-01", "19900101", "\t", "\r\n"])


@given(text=cell_text)
def test_header_field_names_a_known_field_or_none(text):
    field = header_field(text)
    assert field is None or field in HEADERS


@given(head=headers, rows=st.lists(st.lists(cells, max_size=len(REAL) + 2), max_size=6),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_any_file_is_read_and_validated_without_an_exception(app, regions, head, rows, encoding):
    from lms.households.importing.run import import_households
    from lms.extensions import db

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(head)
    writer.writerows(rows)
    try:
        data = buffer.getvalue().encode(encoding)
    except UnicodeEncodeError:
        data = buffer.getvalue().encode("utf-8")
    fd, path = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        report = import_households(path, filename="名单.csv", dry_run=True)
    finally:
        os.remove(path)
        db.session.rollback()
    from lms.households.messages import MESSAGES

    # Every problem is a documented code the official reads in Chinese; a usable file's rows
    # were all looked at (title rows above the header may be skipped, never more than there are).
    assert all(issue.code in MESSAGES for issue in report.errors), [i.code for i in report.errors]
    assert report.unusable or report.rows <= len(rows)
    assert report.exit_code in (0, 1, 2)
