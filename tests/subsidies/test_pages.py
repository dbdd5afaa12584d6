"""The pages through HTTP: masking everywhere, a village official's own rows, the public notice,
the figures and their JSON/CLI, and attacks (another region's official, a learner, no CSRF token)
that change nothing."""
from __future__ import annotations

import json

import pytest

from lms.extensions import db
from tests.subsidies.fixtures import SIBLING_TOWNSHIP, TOWNSHIP, approved_batch, rows_of


def _statuses(batch_id):
    return [(r.status, r.held, r.reason) for r in rows_of(batch_id)]


def _no_plain_numbers(page: str, world) -> None:
    from lms.subsidies.accounts import reveal
    from lms.subsidies.models import Account

    for member in (world.zhang, world.li, world.wang):
        assert member.plain_id not in page
    for account in db.session.query(Account):
        assert reveal(account) not in page


def test_every_page_of_a_batch_masks_ids_and_accounts(world, client, login):
    from lms.crypto import mask_id
    from lms.subsidies import review

    batch = approved_batch(world)
    review.raise_objection(world.county, batch, rows_of(batch.id)[0].id, "反映未参加培训")
    db.session.commit()
    login(client, world.county2)
    pages = [f"/subsidies/batches/{batch.id}", f"/subsidies/batches/{batch.id}/history",
             f"/subsidies/batches/{batch.id}/notice", f"/subsidies/households/{world.zhang.household_id}/account",
             f"/subsidies/figures?region={TOWNSHIP}", "/subsidies"]
    for url in pages:
        response = client.get(url, headers={"Accept-Language": "zh-CN"})
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        _no_plain_numbers(page, world)
    batch_page = client.get(f"/subsidies/batches/{batch.id}").get_data(as_text=True)
    assert mask_id(world.zhang.plain_id) in batch_page and "****" in batch_page
    public = client.application.test_client().get(f"/subsidies/notice/{batch.notice_token}").get_data(as_text=True)
    assert world.zhang.name in public and mask_id(world.zhang.plain_id) in public
    _no_plain_numbers(public, world)
    assert "****" not in public.replace(mask_id(world.zhang.plain_id), "").replace(
        mask_id(world.li.plain_id), "").replace(mask_id(world.wang.plain_id), "")  # no account, even masked


def test_a_wrong_notice_token_is_not_found(world, client):
    approved_batch(world)
    assert client.get("/subsidies/notice/not-a-real-token-123").status_code == 404


def test_a_village_official_sees_and_certifies_only_their_village(world, client, login):
    from lms.subsidies.batches import create_batch

    batch, _ = create_batch(world.township, TOWNSHIP, "short-training", "2026")
    db.session.commit()
    login(client, world.village)
    page = client.get(f"/subsidies/batches/{batch.id}").get_data(as_text=True)
    assert world.zhang.name in page and world.wang.name not in page
    wang_row = next(r for r in rows_of(batch.id) if r.member_id == world.wang.id)
    response = client.post_form(f"/subsidies/batches/{batch.id}/certify", {"row": str(wang_row.id)})
    assert response.status_code == 404
    assert {s for s, _h, _r in _statuses(batch.id)} == {"proposed"}
    mine = [str(r.id) for r in rows_of(batch.id) if r.member_id in (world.zhang.id, world.li.id)]
    response = client.post_form(f"/subsidies/batches/{batch.id}/certify", {"row": mine})
    assert response.status_code == 303
    assert {r.member_id: r.status for r in rows_of(batch.id)}[world.zhang.id] == "certified"


def test_a_large_batch_lists_its_villages_and_each_villages_people_on_its_own_page(world, client, login, monkeypatch):
    from lms.subsidies import views
    from lms.subsidies.batches import create_batch
    from tests.subsidies.fixtures import NEIGHBOUR, VILLAGE

    from tests.lms.stats.factories import make_household, make_member
    from tests.subsidies.fixtures import certify

    monkeypatch.setattr(views, "PAGE_ROWS", 2)  # this township's 3 people stand for a township of thousands
    certify(make_member(make_household(NEIGHBOUR), name="孙七", birth_ymd=19930101))  # no account: not proposed
    db.session.commit()
    batch, _ = create_batch(world.township, TOWNSHIP, "short-training", "2026")
    db.session.commit()
    login(client, world.township)
    zh = {"Accept-Language": "zh-CN"}
    page = client.get(f"/subsidies/batches/{batch.id}", headers=zh).get_data(as_text=True)
    assert "请在上方选择一个村" in page and world.zhang.name not in page and "孙七" not in page
    assert f'href="/subsidies/batches/{batch.id}?village={VILLAGE}">示例一村</a></td><td class="num">2</td><td class="num">2</td>' in page
    page = client.get(f"/subsidies/batches/{batch.id}?village={VILLAGE}", headers=zh).get_data(as_text=True)
    assert world.zhang.name in page and world.li.name in page and world.wang.name not in page and "孙七" not in page
    page = client.get(f"/subsidies/batches/{batch.id}?village={NEIGHBOUR}", headers=zh).get_data(as_text=True)
    assert world.wang.name in page and "孙七" in page and world.zhang.name not in page  # and who was not proposed
    # Certifying from the village's page comes back to it, and its count of rows to certify falls.
    zhang = next(r for r in rows_of(batch.id) if r.member_id == world.zhang.id)
    response = client.post_form(f"/subsidies/batches/{batch.id}/certify?village={VILLAGE}", {"row": str(zhang.id)})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"?village={VILLAGE}")
    page = client.get(response.headers["Location"], headers=zh).get_data(as_text=True)
    assert f'示例一村</a></td><td class="num">2</td><td class="num">1</td>' in page
    # A village official sees only their village, with no list of villages; another village is a 404.
    village_official = login(client.application.test_client(), world.village)
    page = village_official.get(f"/subsidies/batches/{batch.id}", headers=zh).get_data(as_text=True)
    assert world.zhang.name in page and '<table id="villages">' not in page
    assert village_official.get(f"/subsidies/batches/{batch.id}?village={NEIGHBOUR}").status_code == 404


@pytest.mark.parametrize("attacker", ["sibling", "learner", "no_csrf"])
def test_attacks_change_nothing(world, client, login, attacker):
    from lms.subsidies.batches import create_batch

    batch, _ = create_batch(world.township, TOWNSHIP, "short-training", "2026")
    db.session.commit()
    before = _statuses(batch.id)
    row = rows_of(batch.id)[0]
    login(client, world.learner if attacker == "learner" else world.sibling if attacker == "sibling" else world.village)
    posts = [(f"/subsidies/batches/{batch.id}/certify", {"row": str(row.id)}),
             (f"/subsidies/batches/{batch.id}/rows/{row.id}/exclude", {"reason": "乱改"}),
             (f"/subsidies/batches/{batch.id}/submit", {}),
             (f"/subsidies/households/{world.zhang.household_id}/account",
              {"member": str(world.zhang.id), "holder_name": "张三", "bank": "骗子银行", "number": "6228480000000009999"})]
    expected = {"sibling": 404, "learner": 403, "no_csrf": 400}[attacker]
    for url, data in posts:
        response = client.post_form(url, data, csrf=attacker != "no_csrf")
        assert response.status_code == expected, (url, response.status_code)
    if attacker != "no_csrf":
        assert client.get(f"/subsidies/batches/{batch.id}").status_code == expected
        assert client.get(f"/api/v1/stats/subsidies?region={TOWNSHIP}").status_code == expected
    assert _statuses(batch.id) == before
    from lms.subsidies.accounts import history

    assert [a.bank for a in history(world.zhang.household_id)] == ["甘肃省农村信用社"]


def test_the_submitter_cannot_approve_through_the_page(world, client, login):
    from lms.subsidies import review
    from lms.subsidies.batches import create_batch

    batch, _ = create_batch(world.township, TOWNSHIP, "short-training", "2026")
    review.certify(None, batch, [r.id for r in rows_of(batch.id)])
    review.submit(world.county, batch)
    db.session.commit()
    login(client, world.county)
    response = client.post_form(f"/subsidies/batches/{batch.id}/approve")
    assert response.status_code == 400
    assert "提交" in response.get_data(as_text=True)
    db.session.expire_all()
    from lms.subsidies.models import Batch

    assert db.session.get(Batch, batch.id).status == "submitted"


def test_excluding_without_a_reason_says_so_under_the_field_and_changes_nothing(world, client, login):
    from lms.subsidies.batches import create_batch

    batch, _ = create_batch(world.township, TOWNSHIP, "short-training", "2026")
    db.session.commit()
    row = next(r for r in rows_of(batch.id) if r.member_id == world.zhang.id)
    login(client, world.village)
    response = client.post_form(f"/subsidies/batches/{batch.id}/rows/{row.id}/exclude", {"reason": "  "},
                                headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 400
    assert 'class="field-error"' in response.get_data(as_text=True)
    assert rows_of(batch.id)[0].status == "proposed"


def test_an_account_typed_for_someone_outside_the_household_keeps_what_was_typed(world, client, login):
    login(client, world.village)
    response = client.post_form(f"/subsidies/households/{world.zhang.household_id}/account",
                                {"member": str(world.zhang.id), "holder_name": "王五", "bank": "甘肃农信",
                                 "number": "6228480000000001234"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="甘肃农信"' in page and "field-error" in page


def test_figures_api_and_cli_agree_and_roll_up_to_the_fen(world, client, login, runner, tmp_path):
    from lms.subsidies import review

    batch = approved_batch(world)
    review.end_notice(None, batch, on=batch.notice_until)
    db.session.commit()
    login(client, world.county)
    api = client.get(f"/api/v1/stats/subsidies?region={TOWNSHIP}").get_json()
    assert (api["region"], api["level"], api["paid_yuan"], api["paid_people"], api["outstanding_yuan"]) == (
        TOWNSHIP, 4, "0.00", 0, "4500.00")
    assert sum(int(c["outstanding_yuan"].replace(".", "")) for c in api["children"]) == 450000
    result = runner.invoke(args=["stats", "subsidies", "--region", TOWNSHIP, "--json"])
    assert json.loads(result.output) == api
    assert client.get(f"/api/v1/stats/subsidies?region={SIBLING_TOWNSHIP}").status_code == 200  # the county's
    other = login(client.application.test_client(), world.township)
    assert other.get(f"/api/v1/stats/subsidies?region={SIBLING_TOWNSHIP}").status_code == 404


def test_the_figures_page_drills_down_by_name_and_its_trail_names_each_region_once(world, client, login):
    import re

    from tests.subsidies.fixtures import COUNTY, VILLAGE

    approved_batch(world)
    login(client, world.county)
    page = client.get(f"/subsidies/figures?region={TOWNSHIP}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    trail = re.search(r'<nav class="crumbs"[^>]*>(.*?)</nav>', page).group(1)
    assert f'region={COUNTY}">' in trail and trail.endswith("<span>清源镇</span>") and trail.count("清源镇") == 1
    assert f'href="/subsidies/figures?region={VILLAGE}">示例一村</a>' in page
    village = client.get(f"/subsidies/figures?region={VILLAGE}", headers={"Accept-Language": "zh-CN"})
    assert village.status_code == 200 and '<table id="households">' in village.get_data(as_text=True)
    township = login(client.application.test_client(), world.township)
    page = township.get("/subsidies/figures").get_data(as_text=True)
    assert f"region={COUNTY}" not in page  # the trail starts at the official's own region
    assert township.get(f"/subsidies/figures?region={COUNTY}").status_code == 404


def test_the_payment_list_downloads_by_post_with_csrf_for_a_county_official(world, client, login):
    from lms.subsidies import review

    batch = approved_batch(world)
    review.end_notice(None, batch, on=batch.notice_until)
    db.session.commit()
    login(client, world.county)
    assert client.get(f"/subsidies/batches/{batch.id}/payments.xlsx").status_code == 405
    assert client.post_form(f"/subsidies/batches/{batch.id}/payments.xlsx", csrf=False).status_code == 400
    assert {r.exported_at for r in rows_of(batch.id)} == {None}
    response = client.post_form(f"/subsidies/batches/{batch.id}/payments.xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    assert all(r.exported_at for r in rows_of(batch.id))
    other = login(client.application.test_client(), world.township)
    assert other.post_form(f"/subsidies/batches/{batch.id}/payments.xlsx").status_code == 400


def test_a_township_official_creates_a_batch_from_the_page_and_a_bad_period_keeps_the_form(world, client, login):
    from lms.subsidies.models import Batch

    login(client, world.township)
    response = client.post_form("/subsidies/batches", {"region": TOWNSHIP, "strand": "short-training",
                                                       "period": "2026-3"}, headers={"Accept-Language": "zh-CN"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'value="2026-3"' in page
    assert '<p class="error" id="period-error" role="alert">按年发放的类别，期次为年份' in page
    assert db.session.query(Batch).count() == 0
    response = client.post_form("/subsidies/batches", {"region": TOWNSHIP, "strand": "short-training",
                                                       "period": "2026"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"], headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "台账已建立：3 人，4,500.00 元" in page


def test_the_household_page_shows_the_masked_account_and_its_subsidies(world, client, login):
    batch = approved_batch(world)
    login(client, world.village)
    page = client.get(f"/households/{world.zhang.household_id}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    from lms.subsidies.accounts import current_account

    assert current_account(world.zhang.household_id).masked in text
    assert "登记或更换账户" in text and f"/subsidies/batches/{batch.id}" in text
    _no_plain_numbers(text, world)


def test_only_an_official_of_the_batchs_township_or_above_ends_the_notice(world, client, login):
    """The village official sees the batch but may not end its notice; the rule is the review
    service's (the CLI and the job call the same function)."""
    from lms.regions.scope import OutOfScope
    from lms.subsidies import review

    batch = approved_batch(world)
    login(client, world.village)
    assert client.post_form(f"/subsidies/batches/{batch.id}/end-notice").status_code == 404
    with pytest.raises(OutOfScope):
        review.end_notice(world.sibling, batch, on=batch.notice_until)
    db.session.rollback()
    db.session.expire_all()
    assert batch.status == "notice" and {r.status for r in rows_of(batch.id)} == {"certified"}
    township = login(client.application.test_client(), world.township)
    assert township.post_form(f"/subsidies/batches/{batch.id}/end-notice").status_code == 303
    db.session.expire_all()
    assert batch.status == "payable"
