"""The province page reads a handful of roll-up rows (README, "The skill goal"): the number of
statements it runs is pinned, and does not grow with the villages or people behind the figures."""
from __future__ import annotations

import re

from lms.extensions import db
from tests.lms.stats.factories import award, make_household, make_member, make_skill

PROVINCE = "620000000000"
# The signed-in user, the region and its children, the roll-up, its breakdowns, its months, and the
# weekly overdue summary's roll-up rows (lms.followup).
PROVINCE_PAGE_STATEMENTS = 7
VILLAGES = ("621123100201", "621123100202", "621123101201", "621102100201")


def _people(villages, per_village: int, skill) -> None:
    for village in villages:
        for n in range(per_village):
            member = make_member(make_household(village), birth_ymd=19800101 + n)
            if n % 2:
                award(member, skill, "2024-03-01")
    db.session.commit()


def _province_page(client, count_queries) -> list[str]:
    assert client.get(f"/stats/skills?region={PROVINCE}").status_code == 200  # warm: settings cached
    with count_queries() as statements:
        page = client.get(f"/stats/skills?region={PROVINCE}")
    assert page.status_code == 200 and "甘肃省" in page.get_data(as_text=True)
    return statements


def test_the_province_page_runs_the_same_few_statements_however_many_villages(client, login, make_user, regions,
                                                                              count_queries):
    login(client, make_user("official", region_code=PROVINCE))
    skill = make_skill()
    _people(VILLAGES[:1], 1, skill)
    small = _province_page(client, count_queries)
    _people(VILLAGES, 6, skill)
    large = _province_page(client, count_queries)
    assert len(small) == len(large) == PROVINCE_PAGE_STATEMENTS, large
    # Roll-up rows, never the registry itself.
    assert not [s for s in large if re.search(r"\b(FROM|JOIN)\s+(members|households)\b", s, re.I)]
