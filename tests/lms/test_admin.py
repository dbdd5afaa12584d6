from lms.accounts.models import User
from lms.audit.models import AuditEntry
from lms.settings import get_setting


def test_only_admins_reach_admin_pages(client, make_user, login, regions):
    login(client, make_user("official", region_code="621123000000"))
    for path in ("/admin/users", "/admin/settings", "/admin/audit", "/admin/jobs"):
        assert client.get(path).status_code == 403


def test_admin_creates_an_account_and_it_is_audited(client, db, make_user, login, regions):
    admin = make_user("admin")
    login(client, admin)
    response = client.post_form("/admin/users", {"username": "trainer7", "role": "trainer",
                                                 "password": "long-enough", "display_name": "张老师"})
    assert response.status_code == 302
    user = db.session.scalar(db.select(User).where(User.username == "trainer7"))
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "user.create"))
    assert entry.actor_id == admin.id and entry.target == f"User:{user.id}"
    listing = client.get("/admin/audit?action=user.create").get_data(as_text=True)
    assert f"账号 #{user.id}" in listing and "创建账号" in listing


def test_admin_form_error_changes_nothing(client, db, make_user, login):
    login(client, make_user("admin"))
    before = db.session.scalar(db.select(db.func.count(User.id)))
    response = client.post_form("/admin/users", {"username": "o1", "role": "official",
                                                 "password": "long-enough", "region_code": "12345"})
    assert response.status_code == 400
    assert "区划代码必须是12位数字" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == before


def test_admin_changes_a_setting_and_bad_values_are_refused(client, db, make_user, login):
    login(client, make_user("admin"))
    assert client.post_form("/admin/settings", {"learner_idle_minutes": "abc"}).status_code == 400
    assert get_setting("learner_idle_minutes") == 10
    assert client.post_form("/admin/settings", {"learner_idle_minutes": "15"}).status_code == 302
    db.session.expire_all()
    assert get_setting("learner_idle_minutes") == 15
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "setting.change"))
    assert entry.details == {"old": 10, "new": 15}


def test_admin_disables_an_account(client, db, make_user, login):
    login(client, make_user("admin"))
    trainer = make_user("trainer")
    assert client.post_form(f"/admin/users/{trainer.id}/active").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, trainer.id).is_active_account is False


def test_new_account_form_keeps_what_was_typed_and_picks_the_region_by_name(client, db, make_user, login, regions):
    login(client, make_user("admin"))
    page = client.get("/admin/users").get_data(as_text=True)
    # Step by step: the counties first, the townships and villages once a county is chosen.
    assert '<option value="621123000000">渭源县</option>' in page and ">示例一村</option>" not in page
    before = db.session.scalar(db.select(db.func.count(User.id)))
    response = client.post_form("/admin/users", {"username": "xianban2", "display_name": "渭源县扶贫办",
                                                 "role": "official", "region_code": "621123000000", "password": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="xianban2"' in page and 'value="渭源县扶贫办"' in page
    assert '<option selected value="official">' in page or '<option value="official" selected>' in page
    assert '<option value="621123000000" selected>' in page and 'id="password-error"' in page
    assert '<option value="621123100000">清源镇</option>' in page  # the chosen county's townships
    assert db.session.scalar(db.select(db.func.count(User.id))) == before
    # Without JavaScript, "show the next level" reloads the form with the township's villages, keeps
    # what was typed and creates nobody.
    response = client.post_form("/admin/users", {"username": "cunguan", "role": "official", "password": "long-enough",
                                                 "region_code": ["621123000000", "621123100000", ""],
                                                 "region_step": "region_code"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'value="cunguan"' in page and ">示例一村</option>" in page
    assert db.session.scalar(db.select(db.func.count(User.id))) == before
    # The deepest choice is the region; a village left over from another township is dropped.
    client.post_form("/admin/users", {"username": "zhenban", "role": "official", "password": "long-enough",
                                      "region_code": ["621123000000", "621123100000", "621123101201"]})
    assert db.session.scalar(db.select(User.region_code).where(User.username == "zhenban")) == "621123100000"
    # the list shows the region's name and the role's name
    client.post_form("/admin/users", {"username": "xianban2", "role": "official", "region_code": "621123000000",
                                      "password": "long-enough"})
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "<td>扶贫干部</td><td>渭源县</td>" in listing


def test_settings_form_keeps_every_typed_value_when_one_is_wrong(client, db, make_user, login):
    login(client, make_user("admin"))
    response = client.post_form("/admin/settings", {"learner_idle_minutes": "abc", "learning.completion_threshold": "0.8"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'name="learner_idle_minutes" value="abc" aria-invalid="true"' in page
    assert 'name="learning.completion_threshold" value="0.8"' in page
    assert get_setting("learner_idle_minutes") == 10 and get_setting("learning.completion_threshold") == 0.9
