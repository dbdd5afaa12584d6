"""The open-cases export is streamed: sent while it is read from the database, in a fixed number of
statements however many cases, in the registry's order, each value a text cell (a note typed as a
formula stays text)."""
from __future__ import annotations

import io

from lms.extensions import db
from tests.lms.followup.conftest import SIBLING_VILLAGE, VILLAGE, in_days
from tests.lms.stats.factories import make_household, make_member


def _rows(client, region="621123000000"):
    from openpyxl import load_workbook

    response = client.get(f"/followup/cases.xlsx?region={region}")
    assert response.status_code == 200 and response.is_streamed
    book = load_workbook(io.BytesIO(response.get_data()))
    return [tuple(c.value for c in row) for row in book.active.iter_rows()], book.active


def test_the_export_is_streamed_in_order_with_text_cells(client, login, world):
    from lms.followup.services import assign, defer

    assign(world.county_official, [world.zhang.id, world.wang.id, world.sibling.id], course_id=world.lamian.id,
           due_on=in_days(4), note="=HYPERLINK(\"http://example.invalid\")")
    assign(world.county_official, [world.zhang.id], course_id=world.potato.id, due_on=in_days(2))
    defer(world.county_official, world.li.id, reason="other", reason_text="照顾病人 <家中>", review_on=in_days(9))
    db.session.commit()
    login(client, world.county_official)
    rows, sheet = _rows(client)
    assert rows[0][0] == "渭源县 621123000000"
    body = rows[2:]
    # The registry's order (village code, household number, name), the deferred 李四 merged in
    # among the assigned.
    codes = {"示例一村": VILLAGE, "示例三村": SIBLING_VILLAGE}
    keys = [(codes[r[0]], r[1], r[2]) for r in body]
    assert keys == sorted(keys) and keys[-1][0] == SIBLING_VILLAGE
    assert {r[2] for r in body} == {"张三", "李四", "王五", "赵六"}
    zhang = [r for r in body if r[2] == "张三"]
    assert [r[3] for r in zhang] == ["马铃薯种植技术", "牛肉拉面"]  # by due date
    assert [r for r in body if r[2] == "李四"][0][6] == "暂缓 · 其他：照顾病人 <家中>"
    note_cell = next(c for row in sheet.iter_rows() for c in row if c.value and str(c.value).startswith("=HYPER"))
    assert note_cell.data_type == "s"  # text, never a formula


def test_the_export_runs_the_same_statements_however_many_cases(client, login, world, count_queries):
    from lms.followup.services import assign

    login(client, world.county_official)
    assign(world.county_official, [world.zhang.id], course_id=world.lamian.id, due_on=in_days(4))
    db.session.commit()
    _rows(client)  # warm: the settings are cached
    with count_queries() as small:
        rows, _sheet = _rows(client)
    assert len(rows) == 3
    household = make_household(VILLAGE)
    people = [make_member(household, name=f"新人{n}", birth_ymd=19800101 + n) for n in range(30)]
    db.session.commit()
    assign(world.county_official, [p.id for p in people], course_id=world.lamian.id, due_on=in_days(4))
    db.session.commit()
    with count_queries() as large:
        rows, _sheet = _rows(client)
    assert len(rows) == 33
    # The signed-in user, the region, its village names, the assignments' and the deferrals' statements
    # (and on PostgreSQL the setting that plans them to be read whole).
    assert len(small) == len(large) == 5 + (db.engine.dialect.name == "postgresql"), large

