"""The rules page: admins only; a bad amount keeps what was typed; each save is a new version."""
from __future__ import annotations

from lms.extensions import db


def _form(**changes):
    form = {"strand": "short-training", "programme": "雨露计划·短期技能培训", "amount": "2000", "evidence": "certificate",
            "min_age": "16", "max_age": "60", "per": "year", "valid_from": "2027-01-01", "valid_to": ""}
    form.update(changes)
    return form


def test_an_admin_adds_a_version_and_a_bad_amount_keeps_the_form(world, client, login, make_user):
    from lms.subsidies.models import Rule

    admin = make_user("admin")
    login(client, admin)
    response = client.post_form("/subsidies/rules", _form(amount="2000.123"), headers={"Accept-Language": "zh-CN"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'value="2000.123"' in page and "两位小数" in page
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
