"""The heartbeat fast path answers the steady state itself and hands every other case to Flask."""
import pytest

from lms.extensions import db
from tests.lms.learning.heartbeats import beat


@pytest.fixture
def token(client, learner_in_lesson):  # noqa: F811
    return client.csrf_token()  # the page's token, fixed for the page's life as in the player


def send(client, lesson, intervals, seq, token, client_id="dev-1"):
    return beat(client, lesson, intervals, seq, client_id=client_id, csrf=False, headers={"X-CSRFToken": token})


def test_steady_heartbeats_are_answered_in_front_of_flask(client, learner_in_lesson, clock, token,  # noqa: F811
                                                          flask_calls):
    from lms.learning.models import Heartbeat

    _, _, lesson = learner_in_lesson
    clock.now += 15
    first = send(client, lesson, [[0, 15]], 1, token)  # verifies the page's CSRF token once
    assert first.status_code == 200 and len(flask_calls) == 1
    clock.now += 15
    second = send(client, lesson, [[15, 30]], 2, token)
    again = send(client, lesson, [[15, 30]], 2, token)  # a retry: applied once
    assert len(flask_calls) == 1
    assert second.status_code == 200 and second.get_json() == again.get_json() == first.get_json() | {
        "watched_seconds": 30.0, "coverage": 0.3}
    assert second.headers["Content-Type"] == "application/json"
    assert second.headers["X-Content-Type-Options"] == "nosniff" and "Content-Security-Policy" in second.headers
    assert db.session.query(Heartbeat).count() == 2


def test_refusals_are_answered_by_flask(client, learner_in_lesson, clock, token, flask_calls):  # noqa: F811
    _, _, lesson = learner_in_lesson
    clock.now += 15
    assert send(client, lesson, [[0, 15]], 1, token).status_code == 200
    clock.now += 15
    before = deferrals(client)
    r = send(client, lesson, [[20, 10]], 2, token)
    assert r.status_code == 400 and r.get_json()["error"] == "interval_inverted" and len(flask_calls) == 2
    r = send(client, lesson, [[0, 15]], 3, "a-forged-token")
    assert r.status_code == 403 and len(flask_calls) == 3, r.get_json()
    assert new_deferrals(client, before) == {"refused": 1, "csrf_unverified": 1}


def test_a_disabled_account_goes_to_flask_and_is_refused(client, learner_in_lesson, clock, token,  # noqa: F811
                                                         flask_calls):
    from lms.accounts.models import User

    learner, _, lesson = learner_in_lesson
    for seq in (1, 2):  # the second in front of Flask: on PostgreSQL its row is remembered
        clock.now += 15
        assert send(client, lesson, [[15 * seq - 15, 15 * seq]], seq, token).status_code == 200
    db.session.get(User, learner.id).is_active_account = False
    db.session.commit()
    clock.now += 15
    before = deferrals(client)
    assert send(client, lesson, [[30, 45]], 3, token).status_code == 401
    assert len(flask_calls) == 2 and new_deferrals(client, before) == {"user_refused": 1}


def test_a_row_changed_by_another_process_is_merged_not_overwritten(client, learner_in_lesson, clock, token,  # noqa: F811
                                                                    flask_calls):
    """Another worker (or another tab through Flask) writes the learner's row between two
    heartbeats this process answers: the next heartbeat merges into what is stored now, not into
    the row this process wrote last (on PostgreSQL it remembers that row, lms.learning.store)."""
    import json
    from datetime import timedelta

    from lms.learning.models import Progress

    learner, _, lesson = learner_in_lesson
    for seq in (1, 2):
        clock.now += 15
        answer = send(client, lesson, [[15 * seq - 15, 15 * seq]], seq, token).get_json()
    assert answer["watched_seconds"] == 30, answer
    row = db.session.query(Progress).filter_by(user_id=learner.id, lesson_id=lesson.id).one()
    db.session.refresh(row)
    intervals = json.loads(row.intervals) if isinstance(row.intervals, str) else row.intervals
    row.intervals = [*intervals, [60.0, 75.0]]  # the other device's seconds
    row.watched_seconds = 45.0
    row.updated_at = row.updated_at + timedelta(seconds=1)
    db.session.commit()
    clock.now += 15
    assert send(client, lesson, [[30, 45]], 3, token).get_json()["watched_seconds"] == 60
    assert len(flask_calls) == 1  # all but the token's first heartbeat in front of Flask
    db.session.refresh(row)
    assert [list(map(float, i)) for i in row.intervals] == [[0.0, 45.0], [60.0, 75.0]]


def test_the_idle_clock_moves_and_the_new_cookie_is_recognised(client, learner_in_lesson, clock, token,  # noqa: F811
                                                               flask_calls, monkeypatch):
    import lms.learning.fastpath as fastpath

    _, _, lesson = learner_in_lesson
    monkeypatch.setattr(fastpath, "time", clock)
    clock.now += 15
    assert send(client, lesson, [[0, 15]], 1, token).status_code == 200
    before = client.get_cookie("session").value
    clock.now += 14  # 29 s since the sign-in: the idle clock stays, the cookie too
    r = send(client, lesson, [[15, 29]], 2, token)
    assert r.status_code == 200 and "Set-Cookie" not in r.headers
    clock.now += 36  # more than the idle clock's 60 s since the sign-in, less than the idle limit
    r = send(client, lesson, [[29, 65]], 3, token)
    assert r.status_code == 200 and "session=" in r.headers.get("Set-Cookie", "")
    assert client.get_cookie("session").value != before
    clock.now += 15
    assert send(client, lesson, [[65, 80]], 4, token).get_json()["watched_seconds"] == 80
    assert len(flask_calls) == 1


def test_a_cookie_re_signed_by_another_worker_is_checked_in_the_fast_path(app, client, learner_in_lesson,  # noqa: F811
                                                                           clock, token, flask_calls,
                                                                           monkeypatch):
    """The next heartbeat after a re-sign often lands on the other gunicorn worker, which has
    never seen the new cookie: it checks the signature itself (the session interface's own
    ``load``) instead of sending the heartbeat through Flask; a tampered cookie is still refused."""
    import lms.learning.fastpath as fastpath
    from lms.learning.models import Heartbeat

    _, _, lesson = learner_in_lesson
    monkeypatch.setattr(fastpath, "time", clock)
    clock.now += 15
    assert send(client, lesson, [[0, 15]], 1, token).status_code == 200  # the token's first use: Flask
    app.session_interface._verified.clear()  # another process: no cookie verified yet
    clock.now += 15
    assert send(client, lesson, [[15, 30]], 2, token).get_json()["watched_seconds"] == 30
    assert len(flask_calls) == 1
    good = client.get_cookie("session").value
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    client.set_cookie("session", forged)
    clock.now += 15
    before = deferrals(client)
    refused = send(client, lesson, [[30, 45]], 3, token)
    assert refused.status_code == 401 and len(flask_calls) == 2
    assert new_deferrals(client, before) == {"not_signed_in": 1}
    assert db.session.query(Heartbeat).count() == 2


def test_idle_sign_out_is_left_to_flask(client, learner_in_lesson, clock, token, flask_calls,  # noqa: F811
                                        monkeypatch):
    import lms.learning.fastpath as fastpath
    import lms.sessions as sessions

    _, _, lesson = learner_in_lesson
    clock.now += 15
    assert send(client, lesson, [[0, 15]], 1, token).status_code == 200
    monkeypatch.setattr(fastpath, "time", clock)
    monkeypatch.setattr(sessions, "time", clock)
    clock.now += 11 * 60  # past the 10-minute idle limit
    before = deferrals(client)
    assert send(client, lesson, [[15, 30]], 2, token).status_code == 401
    assert len(flask_calls) == 2 and new_deferrals(client, before) == {"idle_sign_out": 1}


def test_session_identifier_is_flask_logins(app):
    from lms.extensions import login_manager
    from lms.learning.fastpath import HeartbeatFastPath

    fast = HeartbeatFastPath(None, app)
    for headers, addr in (({"User-Agent": "Mozilla/5.0 (乡学)"}, "10.1.2.3"), ({}, "127.0.0.1"),
                          ({"X-Forwarded-For": "203.0.113.9, 10.0.0.1"}, "10.0.0.1")):
        with app.test_request_context("/", headers=headers, environ_base={"REMOTE_ADDR": addr}) as ctx:
            assert fast.identifier(ctx.request.environ) == login_manager._session_identifier_generator()


def test_a_completing_heartbeat_goes_to_flask_and_completes_once(client, learner_in_lesson, clock, token,  # noqa: F811
                                                                 flask_calls):
    from lms.learning.models import Progress

    _, _, lesson = learner_in_lesson
    for seq in range(1, 7):  # 90 of the video's 100 s: the sixth completes it
        clock.now += 15
        r = send(client, lesson, [[(seq - 1) * 15, seq * 15]], seq, token)
    # The token's first use goes to Flask, and the completion too (the fast path writes on a bare
    # connection, and completing needs the ORM).
    expected = 2
    assert r.get_json()["completed"] is True and len(flask_calls) == expected
    completed_at = db.session.query(Progress).one().completed_at
    clock.now += 15
    r = send(client, lesson, [[90, 100]], 7, token)
    assert r.get_json() == {"watched_seconds": 100.0, "coverage": 1.0, "completed": True}
    assert len(flask_calls) == expected
    db.session.expire_all()
    assert db.session.query(Progress).one().completed_at == completed_at


def test_a_lessons_first_heartbeat_goes_to_flask(client, learner_in_lesson, clock, token, flask_calls):  # noqa: F811
    from lms.learning.models import Progress

    _, course, video = learner_in_lesson
    clock.now += 15
    assert send(client, video, [[0, 15]], 1, token).status_code == 200  # verifies the token
    text = course.lessons[1]  # never opened: no progress row yet, created by Flask
    expected = 2
    assert send(client, text, [], 2, token).status_code == 200
    assert len(flask_calls) == expected and db.session.query(Progress).filter_by(lesson_id=text.id).count() == 1
    assert send(client, text, [], 3, token).status_code == 200
    assert len(flask_calls) == expected


def test_a_steady_heartbeat_is_one_read_and_one_write_outside_the_orm(app, client, learner_in_lesson, clock,  # noqa: F811
                                                                      token, flask_calls, monkeypatch):
    """The hot path's promise, pinned without timing: no statement through the ORM's engine. On
    PostgreSQL, statements on the fast path's own connection only: a read (the user, the session
    generation, the lesson's access rule, the idempotency key and the row) and a write (update and
    insert committed together); once this process has written the learner's row, one statement
    that writes and reads together (``store._pg_write_remembered``). A retry of a stored heartbeat
    is answered from a read."""
    from sqlalchemy import event

    from types import SimpleNamespace

    import psycopg

    lesson = SimpleNamespace(id=learner_in_lesson[2].id)  # the test's own objects load nothing meanwhile
    clock.now += 15
    assert send(client, lesson, [[0, 15]], 1, token).status_code == 200  # the token's first use: Flask
    orm, fast = [], []
    listener = lambda *args: orm.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    execute = psycopg.Connection.execute  # the fast path's own statements (SQLAlchemy uses cursors)

    def kind(query: str) -> str:
        if query.startswith("WITH changed"):
            return "write"
        return "write+read" if "changed AS" in query else "read"

    monkeypatch.setattr(psycopg.Connection, "execute",
                        lambda self, query, *a, **k: fast.append(kind(query)) or execute(self, query, *a, **k))
    try:
        if db.engine.dialect.name == "postgresql":
            # 10 s apart: the lesson's facts stay in their 30 s cache meanwhile.
            clock.now += 10
            assert send(client, lesson, [[15, 25]], 2, token).get_json()["watched_seconds"] == 25
            clock.now += 10
            assert send(client, lesson, [[25, 35]], 3, token).get_json()["watched_seconds"] == 35
            assert send(client, lesson, [[25, 35]], 3, token).get_json()["watched_seconds"] == 35  # a retry
        else:
            clock.now += 15
            assert send(client, lesson, [[15, 30]], 2, token).get_json()["watched_seconds"] == 30
            assert send(client, lesson, [[15, 30]], 2, token).get_json()["watched_seconds"] == 30  # a retry
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert orm == [] and len(flask_calls) == 1
    if db.engine.dialect.name == "postgresql":
        assert fast == ["read", "write", "write+read", "write+read", "read"]
        return
    # SQLite: on the fast path's own driver connection, one read (user, access rule and progress
    # row together), then the insert and the update; a retry is the read and the ignored insert.
    driver = _fast_path(app).sqlite.driver
    traced = []
    driver.set_trace_callback(lambda sql: traced.append(sql.split()[0].upper()))
    try:
        clock.now += 15
        assert send(client, lesson, [[30, 45]], 3, token).get_json()["watched_seconds"] == 45
        steady = [word for word in traced if word not in ("BEGIN", "COMMIT")]
        traced.clear()
        assert send(client, lesson, [[30, 45]], 3, token).get_json()["watched_seconds"] == 45  # a retry
        retry = [word for word in traced if word not in ("BEGIN", "COMMIT", "ROLLBACK")]
    finally:
        driver.set_trace_callback(None)
    assert steady == ["WITH", "INSERT", "UPDATE"] and retry == ["WITH", "INSERT"]
    assert orm == [] and len(flask_calls) == 1


def deferrals(client) -> dict:
    """Why the fast path handed heartbeats to Flask, by reason, since the app was made."""
    return dict(_fast_path(client.application).deferrals)


def new_deferrals(client, before: dict) -> dict:
    return {reason: n - before.get(reason, 0) for reason, n in deferrals(client).items() if n != before.get(reason, 0)}


def _fast_path(app):
    from lms.learning.fastpath import HeartbeatFastPath

    layer = app.wsgi_app
    while not isinstance(layer, HeartbeatFastPath):
        layer = getattr(layer, "wsgi_app", None) or layer.app
    return layer


def test_an_unexpected_error_is_logged_once_and_flask_answers(client, learner_in_lesson, clock, token,  # noqa: F811
                                                               flask_calls, monkeypatch, caplog):
    from lms.learning import fastpath

    _, _, lesson = learner_in_lesson
    clock.now += 15
    assert send(client, lesson, [[0, 15]], 1, token).status_code == 200  # the lesson's first: Flask

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the fast path")

    monkeypatch.setattr(fastpath.HeartbeatFastPath, "record_on_driver", broken)
    monkeypatch.setattr(fastpath.HeartbeatFastPath, "record_on_postgres", broken)
    monkeypatch.setattr(fastpath, "_logged_causes", set())
    calls, before = len(flask_calls), deferrals(client)
    for seq, start in ((2, 15), (3, 30)):
        clock.now += 15
        # The learner notices nothing: Flask records the heartbeat.
        assert send(client, lesson, [[start, start + 15]], seq, token).status_code == 200
    assert len(flask_calls) == calls + 2 and new_deferrals(client, before) == {"unexpected": 2}
    logged = [r for r in caplog.records if r.name == "lms.learning.fastpath"]
    assert len(logged) == 1 and "a bug in the fast path" in str(logged[0].exc_info[1])


def test_sqlite_heartbeat_commits_leave_checkpoints_to_the_checkpointer_thread(app, client, learner_in_lesson, clock,  # noqa: F811
                                                                        token):
    """On SQLite a heartbeat's commit never copies the write-ahead log into the database (that
    fsync held every writer up for up to 0.6 s at 1,000/s): the fast path's connections have no
    automatic checkpoint, and one thread per process does it every second beside them."""
    import threading

    from lms.learning import fastpath

    _, _, lesson = learner_in_lesson
    clock.now += 15
    assert send(client, lesson, [[0, 15]], 1, token).status_code == 200
    clock.now += 15
    assert send(client, lesson, [[15, 30]], 2, token).status_code == 200  # on the fast path
    driver = _fast_path(app).sqlite.driver
    if db.engine.dialect.name == "postgresql":  # the SQLite pieces stay unused
        assert driver is None
        return
    assert driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    assert any(key[1] == db.engine.url.database for key in fastpath._checkpointer.running)
    assert any(t.name == "sqlite-checkpoint" and t.is_alive() for t in threading.enumerate())


def test_the_checkpointer_copies_the_heartbeats_into_the_database_file(app, client, learner_in_lesson, clock,  # noqa: F811
                                                                     token, tmp_path):
    """The heartbeat commits leave the write-ahead log to the checkpointer thread: if it did
    nothing, the log would grow for ever and a restart would replay all of it. A copy of the
    database file alone (without its log) holds the heartbeats within seconds."""
    import contextlib
    import sqlite3
    import subprocess
    import time
    import uuid

    _, _, lesson = learner_in_lesson
    device = f"dev-{uuid.uuid4().hex[:12]}"  # rows of no other test, even in an old copy of the file
    for seq in (1, 2, 3):
        clock.now += 15
        r = send(client, lesson, [[(seq - 1) * 15, seq * 15]], seq, token, client_id=device)
        assert r.status_code == 200
    if db.engine.dialect.name == "postgresql":
        # The server keeps its own log; what matters is that each acknowledged heartbeat is
        # committed: a connection of its own sees all three.
        from sqlalchemy import create_engine, text

        other = create_engine(db.engine.url)
        try:
            with other.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM heartbeats WHERE client_id = :c"), {"c": device})
                assert stored.scalar() == 3
        finally:
            other.dispose()
        return
    assert _fast_path(app).sqlite.driver is not None  # the later two went through the fast path

    def in_the_file() -> int:
        copy = tmp_path / "copy.db"
        for log in (tmp_path / "copy.db-wal", tmp_path / "copy.db-shm"):
            log.unlink(missing_ok=True)
        # The file only, without its log, copied by another process: a close of any descriptor
        # of the database file in this process would drop every lock SQLite holds on it here
        # (POSIX locks are per process), and another process could then delete the live log.
        subprocess.run(["cp", db.engine.url.database, str(copy)], check=True)
        try:
            with contextlib.closing(sqlite3.connect(copy)) as conn:
                return conn.execute("SELECT count(*) FROM heartbeats WHERE client_id = ?", (device,)).fetchone()[0]
        except sqlite3.DatabaseError:  # copied half-way through a checkpoint's writes: look again
            return 0

    deadline = time.monotonic() + 60
    while in_the_file() < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert in_the_file() == 3
