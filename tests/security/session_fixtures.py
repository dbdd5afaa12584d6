"""Fixtures of the session, lockout and progress-access tests: a pytest plugin (tests/conftest.py);
the test modules import only its plain helpers.

A learner signed in through the real form with a lesson page open (its clock is the one of
tests/security/conftest.py), a second client holding a copy of someone's
cookie, and a counter of heartbeats that reached the Flask view (the rest were answered by the
fast path in front of it).
"""
from __future__ import annotations

import functools

import pytest

from lms.extensions import db

VILLAGE = "621123100201"
OTHER_VILLAGE = "621123100202"


@pytest.fixture
def flask_calls(app, monkeypatch):
    calls = []
    view = app.view_functions["learning.progress"]

    @functools.wraps(view)  # the same name, so it stays exempt from the form CSRF check
    def counting(*args, **kwargs):
        calls.append(1)
        return view(*args, **kwargs)

    monkeypatch.setitem(app.view_functions, "learning.progress", counting)
    return calls


@pytest.fixture
def in_lesson(client, login, make_user, make_course, regions, clock):
    """(learner, course, lesson, token): signed in, the lesson page open, its CSRF token."""
    course = make_course(lessons=(("video", 100.0), ("text", "要点")))
    learner = make_user("learner", region_code=VILLAGE, display_name="李梅")
    login(client, learner)
    lesson = course.lessons[0]
    assert client.get(f"/learn/lessons/{lesson.id}").status_code == 200
    return learner, course, lesson, client.csrf_token()


def beat(client, lesson, start, end, seq, token, client_id="dev-1", **kwargs):
    body = {"lesson": lesson.id, "intervals": [[start, end]] if end > start else [], "client_id": client_id,
            "seq": seq, "position": end}
    return client.post("/api/v1/progress", json=body, headers={"X-CSRFToken": token}, **kwargs)


def copy_of(app, client):
    """A second browser holding a copy of ``client``'s session cookie (same address and browser)."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value, domain="localhost")
    return other


def heartbeats() -> int:
    from lms.learning.models import Heartbeat

    db.session.expire_all()
    return db.session.query(Heartbeat).count()


def watched(user, lesson) -> float:
    from lms.learning.models import Progress

    db.session.expire_all()
    row = db.session.query(Progress).filter_by(user_id=user.id, lesson_id=lesson.id).one_or_none()
    return 0.0 if row is None else row.watched_seconds


@pytest.fixture
def another_app(app):
    """Another ``create_app()`` on the same database (another worker, or one behind a proxy)."""
    from lms import create_app
    from lms.extensions import limiter
    from tests.conftest import Client

    made = []
    # The limiter is one object for every app: init_app rebinds its storage. Put it back after.
    limiter_state = dict(limiter.__dict__)

    def make(**overrides):
        keys = ("TESTING", "SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "DATA_KEY", "MEDIA_ROOT", "SEARCH_INDEX",
                "QUEUE_IMMEDIATE", "RATELIMIT_STORAGE_URI", "SERVER_NAME")
        other = create_app({**{k: app.config[k] for k in keys}, **overrides})
        other.test_client_class = Client
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()
    limiter.__dict__.clear()
    limiter.__dict__.update(limiter_state)
