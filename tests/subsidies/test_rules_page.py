"""The rules page: admins only; a bad input is said under its field and keeps what was typed; each save
is a new version; the household categories are ticked by name and listed by name."""
from __future__ import annotations

from lms.extensions import db


def _form(**changes):
    form = {"strand": "short-training", "programme": "雨露计划·短期技能培训", "amount": "2000", "evidence": "certificate",
            "min_age": "16", "max_age": "60", "per": "year", "valid_from": "2027-01-01", "valid_to": "",
            "categories": ["0", "1", "3"]}
    form.update(changes)
    return form


def test_an_admin_adds_a_version_and_a_bad_amount_keeps_the_form(world, client, login, make_user):
    from lms.subsidies.models import Rule

    admin = make_user("admin")
    login(client, admin)
    response = client.post_form("/subsidies/rules", _form(amount="2000.123"), headers={"Accept-Language": "zh-CN"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'value="2000.123"' in page
    assert '<p class="error" id="amount-error" role="alert">请以元为单位填写金额' in page and 'aria-describedby="amount-error"' in page
    assert db.session.query(Rule).count() == 1
    assert client.post_form("/subsidies/rules", _form()).status_code == 303
    rules = db.session.query(Rule).order_by(Rule.id).all()
    assert [r.amount_fen for r in rules] == [150000, 200000] and rules[1].valid_from.isoformat() == "2027-01-01"
    page = client.get("/subsidies/rules", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "2,000.00" in page and "短期技能培训" in page


def test_an_official_cannot_change_rules(world, client, login):
    from lms.subsidies.models import Rule

    login(client, world.county)
    assert client.post_form("/subsidies/rules", _form()).status_code == 403
    assert db.session.query(Rule).count() == 1


def test_household_categories_are_ticked_by_name_and_none_ticked_is_refused(world, client, login, make_user):
    from lms.subsidies.models import Rule

    login(client, make_user("admin"))
    zh = {"Accept-Language": "zh-CN"}
    page = client.get("/subsidies/rules", headers=zh).get_data(as_text=True)
    # The policy households are ticked to start with; 已脱贫(不再享受政策) is not.
    assert 'value="1" checked> 已脱贫(享受政策)' in page and 'value="4"> 已脱贫(不再享受政策)' in page
    response = client.post_form("/subsidies/rules", _form(categories=[], amount="1800"), headers=zh)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="categories-error"' in page and "请至少选择一种适用的脱贫状态" in page
    assert 'value="1800"' in page and 'value="1"> 已脱贫(享受政策)' in page  # what was typed stays, nothing ticked
    assert db.session.query(Rule).count() == 1
    assert client.post_form("/subsidies/rules", _form(categories=["1"]), headers=zh).status_code == 303
    assert db.session.query(Rule).order_by(Rule.id.desc()).first().categories == "1"
    rows = client.get("/subsidies/rules", headers=zh).get_data(as_text=True).split('<table id="rules">')[1]
    assert "<td>已脱贫(享受政策)</td>" in rows and "<td>未脱贫、已脱贫(享受政策)、返贫</td>" in rows
    audit = client.get("/admin/audit", headers=zh).get_data(as_text=True)
    assert "已脱贫(享受政策)" in audit and "0、1、3" not in audit
