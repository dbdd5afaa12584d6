"""The step-by-step region picker: a province of 17,000+ villages, chosen county → township →
village; the children endpoint answers only inside the user's own region."""
import pytest

from lms.extensions import db
from lms.regions.models import Region


@pytest.fixture
def province(app):
    """甘肃省 at scale: 1 city, 10 counties × 40 townships × 44 villages = 17,600 villages."""
    rows = [Region(code="620000000000", name="甘肃省", level=1, parent_code=None),
            Region(code="621100000000", name="定西市", level=2, parent_code="620000000000")]
    for c in range(1, 11):
        county = f"6211{c:02d}000000"
        rows.append(Region(code=county, name=f"第{c}县", level=3, parent_code="621100000000"))
        for t in range(100, 140):
            township = f"6211{c:02d}{t:03d}000"
            rows.append(Region(code=township, name=f"第{c}县{t}镇", level=4, parent_code=county))
            rows.extend(Region(code=f"{township[:9]}{v:03d}", name=f"{t}镇{v}村", level=5, parent_code=township)
                        for v in range(201, 245))
    db.session.add_all(rows)
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).where(Region.level == 5)) == 17_600


def test_the_last_village_of_a_province_can_be_chosen_step_by_step(app, province, client, login, make_user):
    login(client, make_user("admin"))
    last = "621110139244"
    page = client.get("/terminals").get_data(as_text=True)
    # The first step lists the ten counties (the one province and one city are passed through), not 17,600 villages.
    assert page.count('data-level="3"') == 1 and '<option value="621110000000">第10县</option>' in page
    assert ">139镇244村</option>" not in page and page.count("<option") < 100
    # Without JavaScript: the county, then its township, each reloads the form with what was typed.
    step = client.post_form("/terminals", {"name": "十县服务站", "region": ["621110000000", ""],
                                           "region_step": "region"}).get_data(as_text=True)
    assert '<option value="621110139000">第10县139镇</option>' in step and 'value="十县服务站"' in step
    step = client.post_form("/terminals", {"name": "十县服务站", "region": ["621110000000", "621110139000", ""],
                                           "region_step": "region"}).get_data(as_text=True)
    assert f'<option value="{last}">139镇244村</option>' in step
    done = client.post_form("/terminals", {"name": "十县服务站", "region": ["621110000000", "621110139000", last]})
    assert done.status_code == 302
    from lms.accounts.models import Terminal

    assert db.session.scalar(db.select(Terminal.region_code)) == last


def test_children_answer_inside_the_officials_region_only(app, province, client, login, make_user):
    login(client, make_user("official", region_code="621103000000"))
    own = client.get("/regions/children?code=621103000000")
    assert own.status_code == 200 and len(own.json) == 40
    assert own.json[0] == {"code": "621103100000", "name": "第3县100镇"}
    assert len(client.get("/regions/children?code=621103100000").json) == 44
    # Another county, the city above, the province, nonsense: 404, nothing named.
    for code in ("621104000000", "621104100000", "621100000000", "620000000000", "abc", ""):
        assert client.get(f"/regions/children?code={code}").status_code == 404, code


def test_children_need_a_signed_in_member_of_staff(app, province, client, login, make_user):
    assert client.get("/regions/children?code=621103000000").status_code == 404
    login(client, make_user("learner", region_code="621103100201"))
    assert client.get("/regions/children?code=621103000000").status_code == 404


def test_an_official_picks_only_inside_their_region(app, province, client, login, make_user):
    """The households filter of a county's official starts at its townships; a village of another
    county sent by hand filters nothing of it."""
    login(client, make_user("official", region_code="621103000000"))
    page = client.get("/households/").get_data(as_text=True)
    assert '<option value="621103100000">第3县100镇</option>' in page and "第4县" not in page
    assert "（第3县全部）" in page


def test_deepest_choice_drops_what_does_not_hang_together(app, province):
    from lms.regions.picker import deepest_choice

    assert deepest_choice(["621103000000", "621103100000", "621103100201"]) == "621103100201"
    assert deepest_choice(["621103000000", "621103100000", ""]) == "621103100000"
    # A village left from another township (the county was changed without JavaScript).
    assert deepest_choice(["621104000000", "621103100000", "621103100201"]) == "621104000000"
    assert deepest_choice(["", "621103100000"]) is None
    assert deepest_choice(["999"]) == "999"  # not a region: left for the form to refuse
