"""The database briefly away: no 500, 503 + Retry-After for the API and the heartbeat, a friendly page
for people, nothing lost; after a PostgreSQL restart the first request works (stale pooled connections)."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

from lms import create_app, queue
from lms.extensions import db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """A throwaway PostgreSQL server of this test's own, which it can stop, start and restart."""

    def __init__(self):
        self.bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.dir = tempfile.mkdtemp(prefix="xiangxue-outage-")
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self.run("initdb", "-D", f"{self.dir}/data", "-A", "trust", "-U", "postgres")
        self.start()
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "outage")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/outage"

    def run(self, tool, *args):
        command = [f"{self.bin}/{tool}", *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def ctl(self, *args):
        self.run("pg_ctl", "-D", f"{self.dir}/data", "-w", *args)

    def start(self):
        self.ctl("-o", f"-k {self.dir} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off",
                 "-l", f"{self.dir}/log", "start")

    def stop(self):
        self.ctl("-m", "fast", "stop")

    def remove(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def postgres():
    server = Postgres()
    yield server
    server.remove()


@pytest.fixture
def host(app, postgres, catalogue):
    """A web host on the throwaway PostgreSQL (same keys as the test app)."""
    from courses.services import seed_catalogue

    config = {k: app.config[k] for k in ("SECRET_KEY", "DATA_KEY", "MEDIA_ROOT", "SEARCH_INDEX",
                                         "RATELIMIT_STORAGE_URI", "SERVER_NAME")}
    config.update(TESTING=True, QUEUE_IMMEDIATE=True, SQLALCHEMY_DATABASE_URI=postgres.url)
    server = create_app(config)
    server.test_client_class = type(app.test_client())
    queue.init_app(app)
    with server.app_context():
        db.create_all()
        seed_catalogue()
        db.session.commit()
    yield server
    with server.app_context():
        db.session.remove()
        db.engine.dispose()


def _beat(client, lesson_id, seq, start, token):
    body = {"lesson": lesson_id, "intervals": [[start, start + 10]], "client_id": "dev-1", "seq": seq,
            "position": start + 10}
    return client.post("/api/v1/progress", json=body, headers={"X-CSRFToken": token})


def test_restart_and_outage_of_postgresql(host, postgres, make_user, make_course, login, clock):
    with host.app_context():
        _restart_and_outage(host, postgres, make_user, make_course, login, clock)


def _restart_and_outage(host, postgres, make_user, make_course, login, clock):
    from importlib.resources import files

    from lms.regions.services import import_regions

    import_regions(files("lms.regions").joinpath("data/demo_regions.csv").read_text(encoding="utf-8"))
    db.session.commit()
    course = make_course(lessons=(("video", 100.0),))
    lesson_id = course.lessons[0].id
    learner_client = host.test_client()
    login(learner_client, make_user("learner", region_code="621123100201"))
    token = learner_client.csrf_token()
    lesson_page = f"/learn/lessons/{lesson_id}"
    assert learner_client.get(lesson_page).status_code == 200
    for seq in (1, 2):  # the first through Flask, the second on the fast path
        clock.now += 12
        assert _beat(learner_client, lesson_id, seq, (seq - 1) * 10, token).status_code == 200

    postgres.stop()
    postgres.start()
    # Every pooled connection died with the old server: the first requests still work.
    assert learner_client.get(lesson_page).status_code == 200
    clock.now += 12
    answer = _beat(learner_client, lesson_id, 3, 20, token)
    assert answer.status_code == 200 and answer.get_json()["watched_seconds"] == 30.0

    postgres.stop()
    try:
        clock.now += 12
        away = _beat(learner_client, lesson_id, 4, 30, token)
        assert away.status_code == 503 and int(away.headers["Retry-After"]) > 0
        assert away.get_json()["error"]["status"] == 503
        api = learner_client.get("/api/v1/search?q=拉面")
        assert api.status_code == 503 and int(api.headers["Retry-After"]) > 0 and api.is_json
        page = learner_client.get("/learn", headers={"Accept-Language": "zh-CN"})
        text = page.get_data(as_text=True)
        assert page.status_code == 503 and int(page.headers["Retry-After"]) > 0
        assert "服务暂时不可用" in text and "<html" in text
        english = learner_client.get("/learn", headers={"Accept-Language": "en"})
        assert english.status_code == 503  # the cookie's language is not readable either way: no 500
    finally:
        postgres.start()
    # The player sends the heartbeat it kept: recorded once, nothing lost.
    again = _beat(learner_client, lesson_id, 4, 30, token)
    assert again.status_code == 200 and again.get_json()["watched_seconds"] == 40.0
    assert learner_client.get(lesson_page).status_code == 200


def test_a_database_that_is_not_there_gives_503_not_500(app, make_user, login):
    """A host whose database does not answer at all (closed port)."""
    trainer = make_user("trainer")
    signed_in = app.test_client()
    login(signed_in, trainer)
    token = signed_in.csrf_token()
    config = {k: app.config[k] for k in ("SECRET_KEY", "DATA_KEY", "MEDIA_ROOT", "SEARCH_INDEX",
                                         "RATELIMIT_STORAGE_URI", "SERVER_NAME")}
    config.update(TESTING=True, SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://x@127.0.0.1:{_free_port()}/x")
    dead = create_app(config)
    queue.init_app(app)
    client = dead.test_client()
    client.set_cookie("session", signed_in.get_cookie("session").value, domain="localhost")
    page = client.get("/teach")
    assert page.status_code == 503 and page.headers["Retry-After"] == "10"
    assert "服务暂时不可用" in page.get_data(as_text=True)
    upload = client.post("/media/api/uploads", json={"title": "t", "filename": "a.mp4", "size": 10},
                         headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert upload.status_code == 503 and upload.get_json()["error"]["retry_after"] == 10
    with dead.app_context():
        db.engine.dispose()


def test_what_counts_as_the_database_being_away():
    import sqlite3

    import psycopg
    from sqlalchemy import exc

    from lms.db import database_unavailable

    assert database_unavailable(exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("refused")))
    assert database_unavailable(psycopg.OperationalError("the connection is closed"))
    assert database_unavailable(sqlite3.OperationalError("database is locked"))
    assert not database_unavailable(exc.IntegrityError("INSERT", {}, Exception("duplicate")))
    assert not database_unavailable(ValueError("a bug"))


def test_a_commit_that_meets_the_database_gone_is_a_503_too(app):
    """The request's commit runs after the view (an after-request hook): Flask wraps what it raises."""
    import psycopg
    from sqlalchemy import exc

    config = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "DATA_KEY", "MEDIA_ROOT",
                                         "SEARCH_INDEX", "SERVER_NAME")}
    config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    host = create_app(config)
    queue.init_app(app)

    @host.after_request
    def commit_fails(response):
        raise exc.OperationalError("COMMIT", {}, psycopg.OperationalError("server closed the connection"))

    page = host.test_client().get("/signin", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 503 and "服务暂时不可用" in page.get_data(as_text=True)
    with host.app_context():
        db.engine.dispose()
