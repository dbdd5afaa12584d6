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
    from lms.accounts.models import Terminal

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


def _terminal(client, login, make_user, village="621123100201"):
    login(client, make_user("admin"))
    assert client.post_form("/terminals", {"name": "一村服务中心", "region": village}).status_code == 302
    client.post_form("/signout")


def test_an_empty_village_grid_leads_to_the_first_time_look_up(client, login, make_user, regions):
    _terminal(client, login, make_user)
    grid = client.get("/terminal").get_data(as_text=True)
    assert "本村还没有登记学员。" in grid
    assert "第一次使用？" in grid
    assert '<a class="btn primary big" href="/households/link">查找我的建档立卡信息</a>' in grid
    assert client.get("/households/link").status_code == 200


def test_someone_not_on_the_grid_finds_the_first_time_button(client, login, make_user, regions):
    make_user("learner", region_code="621123100201", display_name="李梅")
    _terminal(client, login, make_user)
    grid = client.get("/terminal").get_data(as_text=True)
    assert "李梅" in grid and "名单里没有你的名字？" in grid
    assert '<a class="btn primary big" href="/households/link">查找我的建档立卡信息</a>' in grid


def test_wrong_pins_say_how_many_tries_are_left_under_the_pin_field(client, login, make_user, regions):
    import re

    from lms.accounts.models import SigninFailure

    mei = make_user("learner", region_code="621123100201", display_name="李梅")
    _terminal(client, login, make_user)
    lefts = []
    for _ in range(4):
        r = client.post_form(f"/terminal/{mei.id}", {"pin": "135792"})
        page = r.get_data(as_text=True)
        assert r.status_code == 401
        # The message sits in the PIN field's box, right under the input, and the input points to it.
        field = re.search(r'<div class="field has-error">(.*?)</div>', page, re.S).group(1)
        assert 'aria-describedby="pin-error"' in field
        lefts.append(re.search(r'<p class="error" id="pin-error" role="alert">密码不正确。还可以再试 (\d) 次。</p>',
                               field).group(1))
    assert lefts == ["4", "3", "2", "1"]
    # Each wrong PIN counted once against the account (the count /signin shares).
    assert db.session.query(SigninFailure).filter(SigninFailure.key == f"user:{mei.id}").count() == 4
    last = client.post_form(f"/terminal/{mei.id}", {"pin": "135792"})
    assert last.status_code == 401
    assert re.search(r'id="pin-error" role="alert">密码不正确。输错的次数太多了，请 1[45] 分钟后再试',
                     last.get_data(as_text=True))
    locked = client.post_form(f"/terminal/{mei.id}", {"pin": mei.plain_password})
    assert locked.status_code == 429 and 'id="pin-error"' in locked.get_data(as_text=True)


def test_something_that_is_not_a_pin_uses_up_no_try(client, login, make_user, regions):
    from lms.accounts.models import SigninFailure

    mei = make_user("learner", region_code="621123100201")
    _terminal(client, login, make_user)
    for typed in ("", "12345", "abcdef"):
        r = client.post_form(f"/terminal/{mei.id}", {"pin": typed})
        assert r.status_code == 400 and "密码必须是6位数字" in r.get_data(as_text=True)
    assert db.session.query(SigninFailure).count() == 0
    assert "_user_id" not in client.get("/terminal").get_data(as_text=True)
    assert client.post_form(f"/terminal/{mei.id}", {"pin": mei.plain_password}).status_code == 302
