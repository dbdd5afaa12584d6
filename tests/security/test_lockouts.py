"""Lockouts that hold: wrong PINs and passwords counted in the database, per account across every
sign-in route and per address on each route, seen by every worker and after a restart; the
message says how many tries are left and when to come back; trivial PINs are refused."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
from http.client import HTTPConnection
from pathlib import Path

import pytest

from lms.extensions import db
from tests.security.session_fixtures import VILLAGE

REPO = Path(__file__).resolve().parents[2]
WRONG = "000000"


def _signin(client, user, pin, **kwargs):
    return client.post_form("/signin", {"identifier": user.plain_identifier, "pin": pin}, **kwargs)


def _text(response) -> str:
    return response.get_data(as_text=True)


def _failures() -> int:
    from lms.accounts.models import SigninFailure

    db.session.expire_all()
    return db.session.query(SigninFailure).count()


@pytest.fixture
def terminal_client(app, login, make_user, regions):
    """A browser registered as a village terminal (its sign-in page is the pick-your-name grid)."""
    browser = app.test_client()
    login(browser, make_user("admin"))
    assert browser.post_form("/terminals", {"name": "一村服务中心", "region": VILLAGE}).status_code == 302
    browser.post_form("/signout")
    return browser


def test_wrong_pins_count_across_every_sign_in_route(client, terminal_client, make_user):
    learner = make_user("learner", region_code=VILLAGE)
    r = _signin(client, learner, WRONG)
    assert r.status_code == 401 and "还可以再试 4 次" in _text(r)
    r = terminal_client.post_form(f"/terminal/{learner.id}", {"pin": WRONG})
    assert r.status_code == 401 and "还可以再试 3 次" in _text(r)
    _signin(client, learner, WRONG)
    terminal_client.post_form(f"/terminal/{learner.id}", {"pin": WRONG})
    last = _signin(client, learner, WRONG)  # the fifth: still "wrong", and when to come back
    assert last.status_code == 401 and "分钟后再试" in _text(last)
    for attempt in (lambda: _signin(client, learner, learner.plain_password),
                    lambda: terminal_client.post_form(f"/terminal/{learner.id}", {"pin": learner.plain_password})):
        r = attempt()  # the right PIN is refused too until the time has passed
        assert r.status_code == 429 and "分钟后再试" in _text(r) and 0 < int(r.headers["Retry-After"]) <= 15 * 60
    assert client.get("/api/v1/session").status_code == 401
    assert terminal_client.get("/api/v1/session").status_code == 401


def test_a_lockout_ends_after_fifteen_minutes_and_a_right_pin_forgives(client, make_user, monkeypatch):
    import lms.accounts.lockouts as lockouts
    from lms.db import utcnow

    learner = make_user("learner")
    for _ in range(5):
        _signin(client, learner, WRONG)
    assert _signin(client, learner, learner.plain_password).status_code == 429
    later = utcnow() + lockouts.WINDOW
    monkeypatch.setattr(lockouts, "utcnow", lambda: later)
    r = _signin(client, learner, learner.plain_password)
    assert r.status_code == 302
    client.post_form("/signout")
    r = _signin(client, learner, WRONG)  # the count started again from nothing
    assert "还可以再试 4 次" in _text(r)


def test_staff_passwords_lock_too(client, make_user):
    trainer = make_user("trainer")
    for left in (4, 3, 2, 1):
        r = client.post_form("/signin/staff", {"username": trainer.username, "password": "wrong-password"})
        assert r.status_code == 401 and f"还可以再试 {left} 次" in _text(r)
    client.post_form("/signin/staff", {"username": trainer.username, "password": "wrong-password"})
    r = client.post_form("/signin/staff", {"username": trainer.username, "password": trainer.plain_password})
    assert r.status_code == 429 and "分钟后再试" in _text(r)


def test_an_unknown_account_is_answered_like_a_known_one(client):
    r = client.post_form("/signin", {"identifier": "13999999999", "pin": WRONG})
    assert r.status_code == 401 and "还可以再试 4 次" in _text(r)


def test_one_address_is_capped_per_route_and_other_addresses_are_not(client, make_user, app):
    from lms.accounts.lockouts import ADDRESS_LIMIT

    learner = make_user("learner")
    for n in range(ADDRESS_LIMIT):  # thirty people mistyping at one village centre
        client.post_form("/signin", {"identifier": f"1370000{n:04d}", "pin": WRONG})
    r = _signin(client, learner, learner.plain_password)
    assert r.status_code == 429 and "这里输错的次数太多了" in _text(r)
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert _signin(elsewhere, learner, learner.plain_password).status_code == 302
    # The cap is per route: staff sign-in from the same centre still works.
    trainer = make_user("trainer")
    assert client.post_form("/signin/staff", {"username": trainer.username,
                                              "password": trainer.plain_password}).status_code == 302


def test_two_workers_share_the_count(client, make_user, another_app):
    learner = make_user("learner")
    second = another_app().test_client()
    for n in range(5):
        r = _signin(client if n % 2 else second, learner, WRONG)
        assert r.status_code == 401 and ("还可以再试" in _text(r) or "分钟后再试" in _text(r))
    assert _signin(second, learner, learner.plain_password).status_code == 429
    assert _signin(client, learner, learner.plain_password).status_code == 429


def test_sign_in_works_while_the_rate_limit_store_is_away(make_user, another_app):
    learner = make_user("learner")
    # Nothing listens on port 1: Flask-Limiter falls back to memory; lockouts live in the database.
    browser = another_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0").test_client()
    r = _signin(browser, learner, WRONG)
    assert r.status_code == 401 and "还可以再试 4 次" in _text(r)
    assert _signin(browser, learner, learner.plain_password).status_code == 302
    assert browser.get("/verify/NOSUCHCODE").status_code == 404  # a rate-limited page answers too


# ---------------------------------------------------------------- the client's address behind nginx

def test_behind_a_trusted_proxy_lockouts_and_the_audit_log_see_the_real_address(make_user, another_app):
    from lms.accounts.lockouts import ADDRESS_LIMIT
    from lms.audit.models import AuditEntry

    proxied = another_app(TRUSTED_PROXIES=1)
    centre, other = proxied.test_client(), proxied.test_client()
    centre.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.5"
    other.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.77"
    for n in range(ADDRESS_LIMIT):
        centre.post_form("/signin", {"identifier": f"1370000{n:04d}", "pin": WRONG})
    learner, admin = make_user("learner"), make_user("admin")
    assert _signin(centre, learner, learner.plain_password).status_code == 429
    assert _signin(other, learner, learner.plain_password).status_code == 302  # one centre, not the county
    other.post_form("/signout")
    assert other.post_form("/signin/staff", {"username": admin.username, "password": admin.plain_password}
                           ).status_code == 302
    r = other.post_form("/admin/users", {"username": "newtrainer", "role": "trainer", "password": "long-enough-1"})
    assert r.status_code == 302, r.get_data(as_text=True)[-3000:]
    db.session.expire_all()
    assert db.session.query(AuditEntry).filter_by(action="user.create").one().ip == "203.0.113.77"


def test_without_trusted_proxies_a_forged_forwarded_for_changes_nothing(client, make_user):
    from lms.accounts.lockouts import ADDRESS_LIMIT
    from lms.audit.models import AuditEntry

    for n in range(ADDRESS_LIMIT):  # a new forged address on every try
        client.post_form("/signin", {"identifier": f"1370000{n:04d}", "pin": WRONG},
                         headers={"X-Forwarded-For": f"10.9.{n}.1"})
    learner = make_user("learner")
    r = client.post_form("/signin", {"identifier": learner.plain_identifier, "pin": learner.plain_password},
                         headers={"X-Forwarded-For": "10.250.0.1"})
    assert r.status_code == 429
    admin = make_user("admin")
    staff = client.post_form("/signin/staff", {"username": admin.username, "password": admin.plain_password},
                             headers={"X-Forwarded-For": "10.250.0.2"})
    assert staff.status_code == 302
    client.post_form("/admin/users", {"username": "newtrainer", "role": "trainer", "password": "long-enough-1"},
                     headers={"X-Forwarded-For": "10.250.0.3"})
    db.session.expire_all()
    assert db.session.query(AuditEntry).filter_by(action="user.create").one().ip == "127.0.0.1"


def test_the_proxy_layer_is_outside_the_heartbeat_fast_path(another_app):
    from werkzeug.middleware.proxy_fix import ProxyFix

    from lms.learning.fastpath import HeartbeatFastPath

    proxied = another_app(TRUSTED_PROXIES=1)
    assert isinstance(proxied.wsgi_app, ProxyFix) and isinstance(proxied.wsgi_app.app, HeartbeatFastPath)


# ---------------------------------------------------------------- trivial PINs

TRIVIAL = {"888888": "同一个数字重复", "123456": "连续的数字", "654321": "连续的数字", "890123": "连续的数字",
           "121212": "几位数字的重复", "123123": "几位数字的重复"}


@pytest.mark.parametrize("pin", sorted(TRIVIAL))
def test_trivial_pins_are_refused_with_the_reason_and_nothing_changes(client, login, make_user, pin):
    from lms.accounts.models import User

    learner = make_user("learner")
    login(client, make_user("admin"))
    before = db.session.get(User, learner.id).password_hash
    r = client.post_form(f"/admin/users/{learner.id}/password", {"password": pin}, follow_redirects=True)
    assert TRIVIAL[pin] in _text(r)
    db.session.expire_all()
    assert db.session.get(User, learner.id).password_hash == before


@pytest.mark.parametrize("pin,reason", [("820202", "出生日期"), ("020282", "出生日期"), ("020282"[::-1], None),
                                        ("024513", "后六位")])
def test_the_birth_date_and_the_end_of_the_number_are_refused(runner, pin, reason):
    from lms.accounts.models import User

    result = runner.invoke(args=["users", "create", "--username", "110101198202024513", "--role", "learner",
                                 "--password", pin])
    if reason is None:  # 282020 is no date of this person: accepted
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2 and reason in result.output
    assert db.session.query(User).count() == 0


# ---------------------------------------------------------------- under gunicorn: two workers, a restart

class Gunicorn:
    """``gunicorn --workers 2 wsgi:app`` on a free port, on the tests' database and keys."""

    def __init__(self, app, folder: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = folder / "gunicorn.log"
        self.env = {**os.environ, "LMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                    "LMS_SECRET_KEY": app.config["SECRET_KEY"], "LMS_DATA_KEY": app.config["DATA_KEY"],
                    "LMS_MEDIA_LINK_SECRET": "gunicorn-test-link-secret", "LMS_INSTANCE_PATH": str(folder),
                    "LMS_MEDIA_ROOT": str(app.config["MEDIA_ROOT"]), "LMS_SEARCH_INDEX": str(app.config["SEARCH_INDEX"]),
                    "LMS_QUEUE_URL": f"sqlite:///{folder / 'queue.db'}", "LMS_RATELIMIT_URL": "memory://"}
        self.process = None

    def start(self) -> None:
        import sys

        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{self.port}",
                 "wsgi:app"], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            try:
                if self.request("GET", "/signin?manual=1", {})[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not answer: " + self.log.read_text()[-2000:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)
        self.process = None

    def request(self, method, path, cookies, form=None):
        """One request on a connection of its own (so either worker may answer it)."""
        connection = HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Accept-Language": "zh-CN"}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, value = header.split(";", 1)[0].partition("=")
            cookies[name] = value
        return response.status, text, response.headers

    def sign_in(self, identifier, pin):
        cookies: dict[str, str] = {}
        _, page, _ = self.request("GET", "/signin?manual=1", cookies)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        return self.request("POST", "/signin?manual=1", cookies, {"csrf_token": token, "identifier": identifier,
                                                                 "pin": pin})


@pytest.fixture
def gunicorn(app, tmp_path):
    server = Gunicorn(app, tmp_path)
    server.start()
    yield server
    server.stop()


def test_under_gunicorn_two_workers_and_a_restart_see_the_same_count(gunicorn, make_user):
    learner = make_user("learner")
    for left in (4, 3, 2, 1):
        status, page, _ = gunicorn.sign_in(learner.plain_identifier, WRONG)
        assert status == 401 and f"还可以再试 {left} 次" in page
    status, page, _ = gunicorn.sign_in(learner.plain_identifier, WRONG)
    assert status == 401 and "分钟后再试" in page
    status, page, headers = gunicorn.sign_in(learner.plain_identifier, learner.plain_password)
    assert status == 429 and "分钟后再试" in page and int(headers["Retry-After"]) > 0
    gunicorn.stop()
    gunicorn.start()
    status, page, _ = gunicorn.sign_in(learner.plain_identifier, learner.plain_password)
    assert status == 429 and "分钟后再试" in page
    other = make_user("learner")  # the lockout is the account's, not the server's
    assert gunicorn.sign_in(other.plain_identifier, other.plain_password)[0] == 302
