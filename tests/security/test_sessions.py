"""Sessions end on the server: a cookie copied before an ending is worthless afterwards, on a page,
a JSON API, a media file and the heartbeat fast path alike; and the fast path accepts nothing the
Flask path would refuse."""
from __future__ import annotations

import pytest

from lms.extensions import db
from tests.security.session_fixtures import beat, copy_of, heartbeats, watched

ENDINGS = ("sign-out", "new PIN or password", "own PIN or password changed", "disabled", "sign out everywhere",
           "absolute lifetime")


@pytest.fixture
def admin_client(app, make_user, login):
    return login(app.test_client(), make_user("admin"))


def _end(ending, *, app, clock, admin_client, signed_in):
    """End the sessions of each (client, user) in ``signed_in`` the way ``ending`` says."""
    from lms.settings import set_setting

    if ending == "absolute lifetime":
        set_setting("learner_idle_minutes", 24 * 60)  # only the lifetime may end it
        db.session.commit()
        clock.now += 12 * 3600 + 60
        return
    for client, user in signed_in:
        if ending == "sign-out":
            assert client.post_form("/signout").status_code == 302
        elif ending == "new PIN or password":
            secret = "730184" if user.role.value == "learner" else "a-new-password-7"
            assert admin_client.post_form(f"/admin/users/{user.id}/password", {"password": secret}).status_code == 302
        elif ending == "own PIN or password changed":
            secret = "730184" if user.role.value == "learner" else "a-new-password-7"
            r = client.post_form("/account/password", {"current": user.plain_password, "new": secret, "again": secret})
            assert r.status_code == 302
            assert client.get("/api/v1/session").status_code == 200  # the browser that changed it goes on
        elif ending == "disabled":
            assert admin_client.post_form(f"/admin/users/{user.id}/active").status_code == 302
        else:
            assert admin_client.post_form(f"/admin/users/{user.id}/sessions/end").status_code == 302


def _status(client, url):
    response = client.get(url)
    response.close()  # a file response holds its file open until closed
    return response


def _refused(response) -> bool:
    return response.status_code in (302, 401) and (response.status_code == 401
                                                   or "/signin" in response.headers["Location"])


@pytest.mark.parametrize("ending", ENDINGS)
def test_a_cookie_copied_before_the_ending_is_worthless_after_it(app, client, login, make_user, in_lesson,
                                                                 make_ready_asset, flask_calls, clock,
                                                                 admin_client, ending):
    learner, _course, lesson, token = in_lesson
    trainer = make_user("trainer")
    trainer_client = login(app.test_client(), trainer)
    asset = make_ready_asset(owner=trainer)
    media_url = f"/media/files/{asset.id}/v{asset.version}/master.m3u8"

    clock.now += 15
    assert beat(client, lesson, 0, 15, 1, token).status_code == 200  # the page's token, verified once
    learner_copy, trainer_copy = copy_of(app, client), copy_of(app, trainer_client)
    # Before: the copies work everywhere, the heartbeat answered by the fast path in front of Flask.
    clock.now += 15
    calls = len(flask_calls)
    assert beat(learner_copy, lesson, 15, 30, 2, token).status_code == 200 and len(flask_calls) == calls
    assert learner_copy.get("/learn").status_code == 200
    assert learner_copy.get("/api/v1/session").get_json()["signed_in"] is True
    assert _status(trainer_copy, media_url).status_code == 200
    assert trainer_copy.get("/media/").status_code == 200

    _end(ending, app=app, clock=clock, admin_client=admin_client,
         signed_in=((client, learner), (trainer_client, trainer)))

    stored = heartbeats()
    clock.now += 15
    assert beat(learner_copy, lesson, 30, 45, 3, token).status_code == 401
    assert heartbeats() == stored and watched(learner, lesson) == 30
    assert _refused(learner_copy.get("/learn"))
    assert learner_copy.get("/api/v1/session").status_code == 401
    # Media names nothing to someone not signed in (media.access): the file is simply not there.
    assert _status(trainer_copy, media_url).status_code == 404
    assert _refused(trainer_copy.get("/media/"))
    assert trainer_copy.get("/api/v1/session").status_code == 401


def test_sign_out_everywhere_is_a_button_on_the_admin_page_and_is_audited(app, client, make_user, login,
                                                                         admin_client):
    from lms.audit.models import AuditEntry

    learner = make_user("learner")
    login(client, learner)
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{learner.id}/sessions/end" in page and "在所有设备上退出" in page
    r = admin_client.post_form(f"/admin/users/{learner.id}/sessions/end", follow_redirects=True)
    assert "已在所有设备上退出登录" in r.get_data(as_text=True)
    assert client.get("/api/v1/session").status_code == 401
    assert db.session.query(AuditEntry).filter_by(action="user.sessions_end", target=f"User:{learner.id}").count() == 1
    # Signing in again works: only the sessions from before ended.
    login(client, learner)
    assert client.get("/api/v1/session").status_code == 200


def test_an_unknown_account_cannot_be_signed_out_and_nothing_changes(admin_client):
    from lms.audit.models import AuditEntry

    assert admin_client.post_form("/admin/users/999999/sessions/end").status_code == 404
    assert db.session.query(AuditEntry).filter_by(action="user.sessions_end").count() == 0


def test_re_signing_the_cookie_never_extends_the_lifetime(app, client, in_lesson, flask_calls, clock):
    from lms.settings import set_setting

    learner, _course, lesson, token = in_lesson
    set_setting("learner_idle_minutes", 24 * 60)
    db.session.commit()
    clock.now += 15
    assert beat(client, lesson, 0, 15, 1, token).status_code == 200
    before = client.get_cookie("session").value
    clock.now += 11 * 3600  # an active learner: the idle clock moves and the cookie is re-signed
    assert beat(client, lesson, 15, 30, 2, token).status_code == 200
    assert client.get_cookie("session").value != before
    calls = len(flask_calls)
    clock.now += 15
    assert beat(client, lesson, 30, 45, 3, token).status_code == 200 and len(flask_calls) == calls
    clock.now += 3600  # 12 h after signing in, however fresh the cookie
    assert beat(client, lesson, 45, 60, 4, token).status_code == 401
    assert watched(learner, lesson) == 45
    assert client.get("/api/v1/session").status_code == 401


def test_the_lifetime_is_an_admin_setting(client, make_user, login, clock):
    from lms.settings import set_setting

    login(client, make_user("trainer"))
    set_setting("session_lifetime_hours", 2)
    db.session.commit()
    clock.now += 3600
    assert client.get("/api/v1/session").status_code == 200
    clock.now += 3600 + 60
    assert client.get("/api/v1/session").status_code == 401


# ---------------------------------------------------------------- the fast path refuses what Flask refuses

def test_a_csrf_token_verified_for_another_session_is_refused(app, client, login, make_user, in_lesson,
                                                              flask_calls, clock):
    from tests.security.session_fixtures import VILLAGE

    learner, _course, lesson, token = in_lesson
    clock.now += 15
    assert beat(client, lesson, 0, 15, 1, token).status_code == 200  # this process now knows the token
    other = make_user("learner", region_code=VILLAGE)
    other_client = login(app.test_client(), other)
    assert other_client.get(f"/learn/lessons/{lesson.id}").status_code == 200
    clock.now += 15
    calls = len(flask_calls)
    r = beat(other_client, lesson, 0, 15, 1, token)  # someone else's token, with this session's cookie
    assert r.status_code == 403 and len(flask_calls) == calls + 1
    assert watched(other, lesson) == 0
    assert beat(other_client, lesson, 0, 15, 2, other_client.csrf_token()).status_code == 200


@pytest.mark.parametrize("where", ("another browser", "another address"))
def test_a_session_protection_mismatch_is_refused(app, client, in_lesson, flask_calls, clock, where):
    learner, _course, lesson, token = in_lesson
    clock.now += 15
    assert beat(client, lesson, 0, 15, 1, token).status_code == 200
    stolen = copy_of(app, client)
    clock.now += 15
    kwargs = ({"headers": {"X-CSRFToken": token, "User-Agent": "Mozilla/5.0 (elsewhere)"}}
              if where == "another browser" else {"environ_base": {"REMOTE_ADDR": "198.51.100.7"}})
    body = {"lesson": lesson.id, "intervals": [[15, 30]], "client_id": "dev-1", "seq": 2, "position": 30}
    r = stolen.post("/api/v1/progress", json=body,
                    headers=kwargs.get("headers", {"X-CSRFToken": token}), environ_base=kwargs.get("environ_base", {}))
    assert r.status_code == 401
    assert watched(learner, lesson) == 15
    # A forged X-Forwarded-For does not help without trusted proxies: the address is the socket's.
    r = stolen.post("/api/v1/progress", json=body, headers={"X-CSRFToken": token, "X-Forwarded-For": "127.0.0.1"},
                    environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert r.status_code == 401 and watched(learner, lesson) == 15
    assert beat(client, lesson, 15, 30, 2, token).status_code == 200  # the owner carries on


def test_a_staff_preview_is_left_to_flask(app, client, login, make_user, make_course, flask_calls, clock):
    trainer = make_user("trainer")
    course = make_course(trainer=trainer, published=False)
    lesson = course.lessons[0]
    login(client, trainer)
    assert client.get(f"/learn/lessons/{lesson.id}").status_code == 200
    token = client.csrf_token()
    for seq in range(1, 4):
        clock.now += 15
        assert beat(client, lesson, (seq - 1) * 15, seq * 15, seq, token).status_code == 200
    assert len(flask_calls) == 3 and watched(trainer, lesson) == 45


def test_an_idle_session_is_refused_and_nothing_is_stored(client, in_lesson, flask_calls, clock):
    learner, _course, lesson, token = in_lesson
    clock.now += 15
    assert beat(client, lesson, 0, 15, 1, token).status_code == 200
    stored = heartbeats()
    clock.now += 11 * 60
    assert beat(client, lesson, 15, 30, 2, token).status_code == 401
    assert heartbeats() == stored and len(flask_calls) == 2


# ---------------------------------------------------------------- hooks the fast path must account for

# Every before_request hook, with why the heartbeat fast path (lms.learning.fastpath) may skip it
# or where it does the same by calling the same function. A new hook fails this test until it is
# added here, with its reason, and accounted for in the fast path.
ACCOUNTED_FOR = {
    (None, "flask_wtf.csrf", "CSRFProtect.init_app.<locals>.csrf_protect"):
        "the progress view is CSRF-exempt and checks the page's token itself; the fast path calls "
        "the same check (lms.learning.views.csrf_token_known) against the session's token",
    (None, "flask_limiter._extension", "Limiter._check_request_limit"):
        "heartbeats carry no rate limit on either path (lms.learning.views._is_heartbeat)",
    (None, "lms.sessions", "_enforce_idle_signout"):
        "the fast path answers only when the idle limit is not reached (same setting) and moves "
        "the idle clock as this hook does; a due sign-out goes to Flask",
    (None, "lms.learning.views", "_terminal_front_door"):
        "only for GET of the sign-in page, never a heartbeat",
    ("admin", "lms.admin.views", "require_admin"):
        "only for the admin blueprint's URLs, never /api/v1/progress",
}


def test_every_before_request_hook_is_accounted_for_by_the_fast_path(app):
    hooks = {(blueprint, getattr(f, "__module__", None), getattr(f, "__qualname__", repr(f)))
             for blueprint, functions in app.before_request_funcs.items() for f in functions}
    assert hooks == set(ACCOUNTED_FOR), "a before_request hook the heartbeat fast path does not account for"
    assert not any(app.url_value_preprocessors.values())


def test_the_fast_path_checks_sessions_with_the_flask_paths_function(monkeypatch, client, in_lesson,
                                                                    flask_calls, clock):
    import lms.sessions as sessions

    learner, _course, lesson, token = in_lesson
    clock.now += 15
    assert beat(client, lesson, 0, 15, 1, token).status_code == 200
    seen = []
    real = sessions.session_current

    def spy(data, generation, now=None):
        seen.append(generation)
        return real(data, generation, now)

    monkeypatch.setattr(sessions, "session_current", spy)
    clock.now += 15
    calls = len(flask_calls)
    assert beat(client, lesson, 15, 30, 2, token).status_code == 200 and len(flask_calls) == calls
    assert seen == [0]


# ---------------------------------------------------------------- cookies over HTTPS

def test_cookies_are_secure_when_the_request_came_over_https(app, make_user):
    trainer = make_user("trainer")
    from tests.conftest import CSRF_PATTERN

    for base, secure in (("http://localhost", False), ("https://localhost", True)):
        browser = app.test_client()
        page = browser.get("/signin/staff", base_url=base).get_data(as_text=True)
        token = CSRF_PATTERN.search(page).group(1)
        r = browser.post("/signin/staff", base_url=base, headers={"Referer": base + "/signin/staff"},
                         data={"csrf_token": token, "username": trainer.username, "password": trainer.plain_password})
        assert r.status_code == 302
        cookie = r.headers["Set-Cookie"]
        assert ("; Secure" in cookie) is secure
        assert ("Strict-Transport-Security" in r.headers) is secure


# ---------------------------------------------------------------- changing one's own PIN or password

def test_a_wrong_current_pin_changes_nothing_and_counts_towards_the_lockout(client, make_user, login):
    from lms.accounts.models import User
    from lms.audit.models import AuditEntry

    learner = make_user("learner")
    login(client, learner)
    before = db.session.get(User, learner.id).password_hash
    assert "修改 PIN 码或密码" in client.get("/learn").get_data(as_text=True)
    r = client.post_form("/account/password", {"current": "000000", "new": "730184", "again": "730184"})
    assert r.status_code == 400 and "当前 PIN 码或密码不正确" in r.get_data(as_text=True)
    assert "还可以再试 4 次" in r.get_data(as_text=True)
    r = client.post_form("/account/password", {"current": learner.plain_password, "new": "730184", "again": "730185"})
    assert r.status_code == 400 and "两次输入的不一样" in r.get_data(as_text=True)
    r = client.post_form("/account/password", {"current": learner.plain_password, "new": "111111", "again": "111111"})
    assert r.status_code == 400 and "同一个数字重复" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, learner.id).password_hash == before
    assert db.session.query(AuditEntry).filter_by(action="user.password_change").count() == 0
    assert client.get("/api/v1/session").status_code == 200


def test_changing_ones_own_pin_is_audited_and_the_new_pin_signs_in(app, client, make_user, login):
    from lms.audit.models import AuditEntry

    learner = make_user("learner")
    login(client, learner)
    r = client.post_form("/account/password", {"current": learner.plain_password, "new": "730184", "again": "730184"},
                         follow_redirects=True)
    assert "其他地方的登录都已退出" in r.get_data(as_text=True)
    assert db.session.query(AuditEntry).filter_by(action="user.password_change", target=f"User:{learner.id}").count() == 1
    browser = app.test_client()
    assert browser.post_form("/signin", {"identifier": learner.plain_identifier, "pin": learner.plain_password}
                             ).status_code == 401
    assert browser.post_form("/signin", {"identifier": learner.plain_identifier, "pin": "730184"}).status_code == 302
