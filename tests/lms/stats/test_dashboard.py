"""The dashboard, its JSON and CLI, Excel exports and region scoping."""
from __future__ import annotations

import io
import json

import pytest

from lms.extensions import db
from tests.lms.stats.factories import award, make_household, make_member, make_skill

VILLAGE = "621123100201"


@pytest.fixture
def registry(regions):
    skill, other = make_skill(), make_skill("weld", "焊工")
    skilled = make_member(make_household(VILLAGE, cause="07"), name="李四", birth_ymd=19800101)
    award(skilled, skill, "2024-01-05")
    award(skilled, other, "2024-02-05")
    make_member(make_household(VILLAGE, cause="01"), name="王五", birth_ymd=19900101, phone="13812345678")
    make_member(make_household("621123101201"), name="赵六", birth_ymd=19900101)
    from lms.stats.rollups import refresh_villages

    refresh_villages([VILLAGE, "621123101201"])  # as after a registry import
    db.session.commit()


def test_api_returns_the_exact_json(client, login, make_user, registry):
    login(client, make_user("official", region_code="621123000000"))
    response = client.get("/api/v1/stats/skills?region=621123000000")
    assert response.status_code == 200
    data = response.get_json()
    keys = {"region", "name", "level", "laborers", "with_1", "with_2", "coverage_1", "coverage_2",
            "households_without_skill", "assigned", "overdue", "deferred"}
    assert keys | {"children"} == set(data)
    assert (data["region"], data["name"], data["level"]) == ("621123000000", "渭源县", 3)
    assert (data["laborers"], data["with_1"], data["with_2"]) == (3, 1, 1)
    assert data["coverage_1"] == pytest.approx(1 / 3, abs=1e-4) and data["households_without_skill"] == 2
    children = {c["region"]: c for c in data["children"]}
    assert set(children) == {"621123100000", "621123101000"}
    assert all(set(c) == keys for c in children.values())
    assert (children["621123100000"]["laborers"], children["621123100000"]["with_2"]) == (2, 1)


def test_cli_prints_the_same_json(client, login, make_user, registry, runner):
    login(client, make_user("admin"))
    api = client.get("/api/v1/stats/skills?region=620000000000").get_json()
    result = runner.invoke(args=["stats", "skills", "--region", "620000000000", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output) == api


def test_dashboard_shows_goal_breakdowns_and_drilldown(client, login, make_user, registry):
    login(client, make_user("official", region_code="620000000000"))
    page = client.get("/stats/skills").get_data(as_text=True)  # default: the official's own region
    assert "甘肃省" in page and "<svg" in page and "is-goal" in page
    assert "/stats/skills?region=621100000000" in page  # drill-down link to the child region
    assert "缺技术" in page and 'class="highlight"' in page
    county = client.get("/stats/skills?region=621123000000").get_data(as_text=True)
    assert "清源镇" in county and "莲峰镇" in county


def test_village_follow_up_list_sortable_and_exported(client, login, make_user, registry):
    from openpyxl import load_workbook

    login(client, make_user("official", region_code=VILLAGE))
    page = client.get(f"/stats/skills?region={VILLAGE}&sort=name").get_data(as_text=True)
    assert 'id="followup-table"' in page and "王五" in page and "李四" not in page.split('id="followup')[1]
    assert "138****5678" in page and "13812345678" not in page
    response = client.get(f"/stats/skills/followup.xlsx?region={VILLAGE}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:2] == ("户编号", "姓名")
    assert [r[1] for r in rows[2:]] == ["王五"] and rows[2][6] == "138****5678"


def test_region_export_matches_the_screen(client, login, make_user, registry):
    from openpyxl import load_workbook

    login(client, make_user("official", region_code="621123000000"))
    response = client.get("/stats/skills.xlsx?region=621123000000")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[1][:4] == ("地区", "劳动力人数", "掌握1项及以上技能", "1项覆盖率")
    assert rows[2][0] == "渭源县" and rows[2][1] == 3 and rows[2][2] == 1
    assert {r[0]: r[1] for r in rows[3:]} == {"清源镇": 2, "莲峰镇": 1}
    page = client.get("/stats/skills?region=621123000000").get_data(as_text=True)
    assert "33.3%" in page and round(rows[2][3], 4) == 0.3333


@pytest.mark.parametrize("path", ["/stats/skills?region={}", "/api/v1/stats/skills?region={}",
                                  "/stats/skills.xlsx?region={}", "/stats/skills/followup.xlsx?region={}",
                                  "/stats/courses?region={}"])
def test_out_of_region_is_404(client, login, make_user, registry, path):
    login(client, make_user("official", region_code="621123100000"))  # 清源镇
    assert client.get(path.format("621123101201")).status_code == 404  # a village of 莲峰镇
    assert client.get(path.format("621123000000")).status_code == 404  # the county above
    assert client.get(path.format(VILLAGE)).status_code == 200


def test_learners_and_trainers_cannot_see_the_dashboard(client, login, make_user, registry):
    login(client, make_user("learner", region_code=VILLAGE))
    assert client.get("/stats/skills").status_code == 403
    assert client.get("/api/v1/stats/skills").status_code == 403


def test_goal_setting_switches_the_marked_column(client, login, make_user, registry):
    from lms.settings import set_setting

    set_setting("stats.goal_unit", "household")
    set_setting("stats.goal_threshold", 2)
    db.session.commit()
    login(client, make_user("official", region_code="621123000000"))
    page = client.get("/stats/skills?region=621123000000").get_data(as_text=True)
    head = page.split('id="region-table"')[1].split("</thead>")[0]
    goal_header = head.split("is-goal")[1]
    assert "2项户覆盖率" in goal_header.split("</th>")[0]
