from sqlalchemy import select

from lms.extensions import db


def test_admin_registers_terminal_and_learners_pick_their_name(client, login, make_user, regions):
    admin = make_user("admin")
    mei = make_user("learner", region_code="621123100201", display_name="李梅", username="13900001234")
    make_user("learner", region_code="621123100202", display_name="别村人")
    login(client, admin)
    r = client.post_form("/terminals", {"name": "一村服务中心1号机", "region": "621123100201", "data_saver": "1"})
    assert r.status_code == 302
    client.post_form("/signout")
    # the sign-in page on this browser is now the pick-your-name grid of the village
    r = client.get("/signin")
    assert r.status_code == 302 and "/terminal" in r.headers["Location"]
    grid = client.get("/terminal").get_data(as_text=True)
    assert "李梅" in grid and "1234" in grid and "别村人" not in grid
    assert client.post_form(f"/terminal/{mei.id}", {"pin": "000000"}).status_code == 401
    r = client.post_form(f"/terminal/{mei.id}", {"pin": mei.plain_password})
    assert r.status_code == 302
    page = client.get("/learn").get_data(as_text=True)
    assert "李梅" in page  # always-visible "signed in as"


def test_terminal_refuses_learners_of_other_villages(client, login, make_user, regions):
    admin = make_user("admin")
    other = make_user("learner", region_code="621123100202")
    login(client, admin)
    client.post_form("/terminals", {"name": "T", "region": "621123100201"})
    client.post_form("/signout")
    assert client.get(f"/terminal/{other.id}").status_code == 404


def test_terminal_needs_a_village_code(client, login, make_user, regions):
    from lms.learning.models import Terminal

    login(client, make_user("admin"))
    r = client.post_form("/terminals", {"name": "T", "region": "621123000000"})
    assert r.status_code == 400 and db.session.scalar(select(Terminal)) is None


def test_data_saver_terminal_starts_at_144p(client, login, make_user, make_course, regions):
    course = make_course()
    admin = make_user("admin")
    learner = make_user("learner", region_code="621123100201")
    login(client, admin)
    client.post_form("/terminals", {"name": "T", "region": "621123100201", "data_saver": "1"})
    client.post_form("/signout")
    client.post_form(f"/terminal/{learner.id}", {"pin": learner.plain_password})
    page = client.get(f"/learn/lessons/{course.lessons[0].id}").get_data(as_text=True)
    assert 'data-default-quality="144p"' in page
