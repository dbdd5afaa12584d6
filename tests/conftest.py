"""Shared fixtures: the app on a real database (SQLite, or PostgreSQL when TEST_DATABASE_URL is set),
a client that handles CSRF like a browser, and factories for users and regions.

Tests commit for real (jobs run in their own sessions, as in production); after each test every
table is emptied, so tests stay independent.
"""
from __future__ import annotations

import contextvars
import os
import re
import tempfile
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="xiangxue-tests-"))
# Before anything imports lms: the queue and the instance folder are read from the environment.
os.environ["LMS_INSTANCE_PATH"] = str(_TMP / "instance")
os.environ.pop("LMS_QUEUE_URL", None)

from flask.globals import _cv_app  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402

from lms import create_app  # noqa: E402
from lms.extensions import db as _db  # noqa: E402
from lms.extensions import limiter  # noqa: E402

DEMO_PASSWORD = "correct-horse-9"
DEMO_PIN = "246810"
# Fixtures shared across folders, as plugins (never imported by a test module): media's
# make_ready_asset, the queue's worker_queue, the courses' catalogue/make_course/fake_media, and the
# session tests' signed-in learner, clock and second app.
pytest_plugins = ("tests.media_fixtures", "tests.queue_fixtures", "tests.courses.fixtures",
                  "tests.security.session_fixtures", "tests.clock_fixtures", "tests.subsidies.fixtures")

CSRF_PATTERN = re.compile(r'name="csrf-token" content="([^"]+)"')


class Client(FlaskClient):
    """A test client that sends the CSRF token a browser would have, unless told not to.

    Each request runs in an app context of its own, as in production (so ``g``, the current user
    and the database session are per request); the test's own session is committed before and
    expired after, so it sees what the request did.
    """

    def open(self, *args, **kwargs):
        _db.session.commit()
        context = contextvars.copy_context()

        def isolated():
            _cv_app.set(None)
            return super(Client, self).open(*args, **kwargs)

        try:
            return context.run(isolated)
        finally:
            _db.session.expire_all()

    def csrf_token(self) -> str:
        page = self.get("/signin/staff" if not self._signed_in() else "/")
        if page.status_code in (301, 302):
            page = self.get(page.headers["Location"])
        match = CSRF_PATTERN.search(page.get_data(as_text=True))
        assert match, "no CSRF token on the page"
        return match.group(1)

    def _signed_in(self) -> bool:
        with self.session_transaction() as session:
            return "_user_id" in session

    def post_form(self, path, data=None, *, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf_token())
        return self.post(path, data=data, **kwargs)

    def post_json(self, path, payload, *, csrf=True, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if csrf:
            headers["X-CSRFToken"] = self.csrf_token()
        return self.post(path, json=payload, headers=headers, **kwargs)


def _test_config(tmp: Path) -> dict:
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp / 'test.db'}"
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret",
        "DATA_KEY": "test-data-key",
        "MEDIA_ROOT": tmp / "media",
        "SEARCH_INDEX": tmp / "search-index",
        "QUEUE_IMMEDIATE": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SERVER_NAME": "localhost",
    }


@pytest.fixture(scope="session")
def app():
    application = create_app(_test_config(_TMP))
    application.test_client_class = Client
    with application.app_context():
        _db.drop_all()
        _db.create_all()
    yield application
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(autouse=True)
def _isolated(request, app):
    """A fresh app context per test; afterwards every table is emptied and rate limits reset."""
    from lms import queue

    queue.init_app(app)  # the queue is process-global; tests that build other apps rebind it
    ctx = app.app_context()
    ctx.push()
    yield
    _db.session.rollback()
    _db.session.remove()
    with _db.engine.begin() as connection:
        for table in reversed(_db.metadata.sorted_tables):
            connection.execute(table.delete())
    limiter.reset()
    from lms.settings import clear_cache

    clear_cache()
    ctx.pop()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app) -> Client:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def regions(app):
    """The demo division table: 甘肃省 → 定西市 → 渭源县 (2 townships, 4 villages) and 安定区."""
    from importlib.resources import files

    from lms.regions.services import import_regions

    import_regions(files("lms.regions").joinpath("data/demo_regions.csv").read_text(encoding="utf-8"))
    _db.session.commit()


@pytest.fixture
def make_user(app):
    from lms.accounts.services import create_user

    counter = iter(range(1, 10**6))

    def make(role="trainer", region_code=None, username=None, password=None, display_name=""):
        n = next(counter)
        if role == "learner":
            username = username or f"139{n:08d}"
            password = password or DEMO_PIN
        else:
            username = username or f"{role}{n}"
            password = password or DEMO_PASSWORD
        user = create_user(username=username, role=role, password=password, region_code=region_code,
                           display_name=display_name)
        _db.session.commit()
        user.plain_identifier, user.plain_password = username, password
        return user

    return make


@pytest.fixture
def login():
    """Sign a client in as ``user`` through the real sign-in form."""

    def do(client: Client, user):
        if user.role.value == "learner":
            response = client.post_form("/signin", {"identifier": user.plain_identifier, "pin": user.plain_password})
        else:
            response = client.post_form("/signin/staff", {"username": user.plain_identifier,
                                                           "password": user.plain_password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return do


@pytest.fixture
def count_queries(app):
    """``with count_queries() as statements: ...`` collects every SQL statement run on the app's
    database engine inside the block (requests through the test client included), so a test pins
    how many statements a hot path runs without timing anything. ``count_queries(engine)`` watches
    another engine (a fast path's own, say)."""
    from contextlib import contextmanager

    from sqlalchemy import event

    @contextmanager
    def counting(engine=None):
        engine = engine or _db.engine
        statements: list[str] = []

        def listener(conn, cursor, statement, *args):
            statements.append(statement)

        _db.session.commit()  # what the test wrote is not counted against the block
        event.listen(engine, "before_cursor_execute", listener)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", listener)

    return counting
