"""What an official reads on the dashboard: chart text at least 14 px, names whole, the follow-up
list that says what it counts, and an export with the screen's own words."""
from __future__ import annotations

import io
import re

from lms.extensions import db
from tests.lms.stats.factories import make_household, make_member

VILLAGE = "621123100201"


def test_chart_text_is_at_least_14_px_and_names_are_not_cut_mid_word(app):
    from lms.stats.charts import coverage_bars, trend_lines

    rows = [{"name": "示例一村", "coverage_1": 0.5, "coverage_2": 0.25},
            {"name": "东乡族自治县某某乡某某村民委员会", "coverage_1": 0.1, "coverage_2": 0}]
    bars = str(coverage_bars(rows, 1, title="覆盖"))
    trend = str(trend_lines([{"month": "2024-01", "coverage_1": 0.1, "coverage_2": 0.0},
                             {"month": "2024-02", "coverage_1": 0.2, "coverage_2": 0.1}], 1))
    sizes = [int(s) for s in re.findall(r'font-size="(\d+)"', bars + trend)]
    assert sizes and min(sizes) >= 14
    assert ">示例一村</text>" in bars  # whole
    long_label = re.search(r">(东乡[^<]*)</text>", bars).group(1)
    assert long_label.endswith("…") and "东乡族自治县某某乡某某村民委员会".startswith(long_label[:-1])


def test_follow_up_list_says_no_certified_skill_and_the_export_says_what_the_screen_says(
        client, login, make_user, regions):
    from openpyxl import load_workbook

    make_member(make_household(VILLAGE), name="王五", birth_ymd=19900101, labour="2")  # 技能劳动力, no award
    db.session.commit()
    login(client, make_user("official", region_code=VILLAGE))
    page = client.get(f"/stats/skills?region={VILLAGE}").get_data(as_text=True)
    followup = page.split('id="followup"')[1]
    assert "未取得技能认定的劳动力（跟踪名单）" in followup and "不等于已取得技能认定" in followup
    assert "劳动技能（建档立卡登记）" in followup and "<td>技能劳动力</td>" in followup
    assert '<span class="muted">无</span>' in followup  # no courses
    rows = list(load_workbook(io.BytesIO(client.get(f"/stats/skills/followup.xlsx?region={VILLAGE}").data))
                .active.iter_rows(values_only=True))
    header, row = rows[1], rows[2]
    assert header[5] == "劳动技能（建档立卡登记）"
    assert row[1] == "王五" and row[6] == "139****5678" and row[7] == "无"


def test_every_page_has_a_favicon(client):
    page = client.get("/signin").get_data(as_text=True)
    href = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page).group(1)
    icon = client.get(href)
    data = icon.get_data()
    icon.close()
    assert icon.status_code == 200 and b"<svg" in data
