from lms.accounts.models import User


def test_staff_sign_in_shows_who_is_signed_in(client, make_user, login):
    trainer = make_user("trainer", display_name="王老师")
    login(client, trainer)
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "当前登录：王老师" in page


def test_learner_signs_in_with_id_number_and_pin(client, db, make_user, login):
    learner = make_user("learner", username="62112319900307001X")
    login(client, learner)
    row = db.session.execute(db.select(User.__table__).where(User.id == learner.id)).one()
    # The plain ID number is nowhere in the row: only its keyed hash and a masked hint.
    assert not any("62112319900307001X" in str(value) for value in row)
    assert row.login_hint == "621123********001X"


def test_learner_id_number_is_normalised_before_matching(client, make_user):
    make_user("learner", username="62112319900307001X", password="135790")
    response = client.post_form("/signin", {"identifier": "'６２１１２３１９９００３０７００１x ", "pin": "135790"})
    assert response.status_code == 302


def test_wrong_pin_is_refused_with_a_clear_message(client, make_user):
    learner = make_user("learner")
    response = client.post_form("/signin", {"identifier": learner.plain_identifier, "pin": "000000"})
    assert response.status_code == 401
    assert "身份证号/手机号或密码不正确" in response.get_data(as_text=True)
    assert not client._signed_in()


def test_unknown_user_and_wrong_password_get_the_same_answer(client, make_user):
    make_user("trainer", username="county1")
    wrong = client.post_form("/signin/staff", {"username": "county1", "password": "nope-nope"})
    unknown = client.post_form("/signin/staff", {"username": "nobody", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码不正确" in unknown.get_data(as_text=True)


def test_a_pin_that_is_not_six_digits_is_a_form_error(client):
    response = client.post_form("/signin", {"identifier": "13800000001", "pin": "12ab"})
    assert response.status_code == 400
    assert "密码必须是6位数字" in response.get_data(as_text=True)


def test_disabled_account_cannot_sign_in(client, db, make_user):
    trainer = make_user("trainer")
    trainer.is_active_account = False
    db.session.commit()
    response = client.post_form("/signin/staff", {"username": trainer.username, "password": trainer.plain_password})
    assert response.status_code == 401
    assert "此账号已停用" in response.get_data(as_text=True)


def test_missing_csrf_token_is_refused_and_signs_nobody_in(client, make_user):
    trainer = make_user("trainer")
    response = client.post_form("/signin/staff", {"username": trainer.username, "password": trainer.plain_password},
                                csrf=False)
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    assert not client._signed_in()


def test_repeated_failures_lock_the_account_and_say_when_to_retry(client, make_user):
    learner = make_user("learner")
    for _ in range(5):
        assert client.post_form("/signin", {"identifier": learner.plain_identifier, "pin": "000000"}).status_code == 401
    locked = client.post_form("/signin", {"identifier": learner.plain_identifier, "pin": learner.plain_password})
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "分钟后再试" in locked.get_data(as_text=True)
    # Another person at the same terminal is not locked out by their neighbour's mistakes.
    other = make_user("learner")
    assert client.post_form("/signin", {"identifier": other.plain_identifier, "pin": other.plain_password}).status_code == 302


def test_successful_sign_ins_do_not_count_towards_the_lockout(client, make_user, login):
    learner = make_user("learner")
    for _ in range(7):
        login(client, learner)
        client.post_form("/signout")


def test_sign_out_ends_the_session(client, make_user, login):
    login(client, make_user("trainer"))
    response = client.post_form("/signout")
    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 302  # back to sign-in


def test_learner_is_signed_out_after_the_idle_period(client, make_user, login):
    login(client, make_user("learner"))
    assert client.get("/api/v1/session").json["signed_in"] is True
    with client.session_transaction() as session:
        session["last_seen"] -= 11 * 60
    response = client.get("/")
    assert response.status_code == 302 and "/signin" in response.headers["Location"]
    assert client.get("/api/v1/session").status_code == 401


def test_session_cookie_is_httponly_and_lax(client, make_user):
    trainer = make_user("trainer")
    response = client.post_form("/signin/staff", {"username": trainer.username, "password": trainer.plain_password})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_touching_the_screen_restarts_the_idle_clock(client, make_user, login):
    login(client, make_user("learner"))
    token = client.csrf_token()
    with client.session_transaction() as session:
        session["last_seen"] -= 9 * 60 + 30
    assert client.get("/api/v1/session").json["idle_seconds_left"] <= 30  # a passive check: no restart
    assert client.post("/api/v1/session/touch", headers={"X-CSRFToken": token}).status_code == 204
    assert client.get("/api/v1/session").json["idle_seconds_left"] > 9 * 60


def test_a_changed_setting_takes_effect_at_once_in_this_process(client, db, make_user, login):
    from lms.settings import get_setting

    assert get_setting("learner_idle_minutes") == 10
    login(client, make_user("admin"))
    client.post_form("/admin/settings", {"learner_idle_minutes": "20"})
    assert get_setting("learner_idle_minutes") == 20
