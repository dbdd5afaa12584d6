"""Progress only where learning is allowed: a heartbeat for a lesson its learner may not open is
refused as the lesson page refuses it, on the Flask path and the fast path, and nothing is stored;
unpublishing or withdrawing a course from a region takes effect from the very next heartbeat."""
from __future__ import annotations

import pytest

from lms.extensions import db
from tests.security.session_fixtures import OTHER_VILLAGE, beat, heartbeats, watched

PATHS = ("fast path", "Flask")


@pytest.fixture
def path(request, monkeypatch):
    """Which path answers: the fast path where it can, or Flask for every heartbeat."""
    if request.param == "Flask":
        from lms.learning.fastpath import Defer, HeartbeatFastPath

        monkeypatch.setattr(HeartbeatFastPath, "answer", lambda self, environ, body: Defer("test"))
    return request.param


def _progress_rows(user) -> int:
    from lms.learning.models import Progress

    db.session.expire_all()
    return db.session.query(Progress).filter_by(user_id=user.id).count()


def _unpublish(app, login, course):
    trainer = course.trainers[0]
    trainer.plain_identifier, trainer.plain_password = trainer.username, "correct-horse-9"
    staff = login(app.test_client(), trainer)
    r = staff.post_form(f"/teach/courses/{course.id}/publish", {"published": "0"})
    assert r.status_code == 302
    db.session.expire_all()
    assert not course.published


@pytest.mark.parametrize("path", PATHS, indirect=True)
def test_unpublishing_refuses_the_very_next_heartbeat(app, client, login, in_lesson, flask_calls, clock, path):
    learner, course, lesson, token = in_lesson
    for seq in (1, 2):
        clock.now += 15
        assert beat(client, lesson, (seq - 1) * 15, seq * 15, seq, token).status_code == 200
    if path == "fast path":
        assert len(flask_calls) == 1  # the second was answered in front of Flask
    _unpublish(app, login, course)
    stored = heartbeats()
    clock.now += 15
    r = beat(client, lesson, 30, 45, 3, token)
    assert r.status_code == 404 and r.get_json()["error"] == "lesson"
    assert heartbeats() == stored and watched(learner, lesson) == 30
    assert client.get(f"/learn/lessons/{lesson.id}").status_code == 404  # the page says the same


@pytest.mark.parametrize("path", PATHS, indirect=True)
def test_withdrawing_a_course_from_the_region_refuses_the_next_heartbeat(app, client, login, in_lesson, clock,
                                                                        path):
    from courses import services

    learner, course, lesson, token = in_lesson
    clock.now += 15
    assert beat(client, lesson, 0, 15, 1, token).status_code == 200
    clock.now += 15
    assert beat(client, lesson, 15, 30, 2, token).status_code == 200
    services.save_course(course.trainers[0], course, title=course.title, summary="", programme_id=course.programme_id,
                         skill_id=course.skill_id, regions=[OTHER_VILLAGE])
    db.session.commit()
    stored = heartbeats()
    clock.now += 15
    assert beat(client, lesson, 30, 45, 3, token).status_code == 404
    assert heartbeats() == stored and watched(learner, lesson) == 30
    assert client.get(f"/learn/lessons/{lesson.id}").status_code == 404


@pytest.mark.parametrize("path", PATHS, indirect=True)
def test_a_course_not_offered_in_the_learners_region_takes_no_heartbeat(app, client, login, in_lesson, make_course,
                                                                       clock, path):
    learner, _course, lesson, token = in_lesson
    clock.now += 15
    assert beat(client, lesson, 0, 15, 1, token).status_code == 200  # the token is known to the fast path
    elsewhere = make_course(title="别村的课", regions=[OTHER_VILLAGE])
    other_lesson = elsewhere.lessons[0]
    assert client.get(f"/learn/lessons/{other_lesson.id}").status_code == 404
    rows, stored = _progress_rows(learner), heartbeats()
    for seq in (2, 3):
        clock.now += 15
        r = beat(client, other_lesson, 0, 15, seq, token)
        assert r.status_code == 404
    assert _progress_rows(learner) == rows and heartbeats() == stored


@pytest.mark.parametrize("path", PATHS, indirect=True)
def test_an_unpublished_course_takes_no_heartbeat_from_a_learner(app, client, in_lesson, make_course, clock, path):
    learner, _course, lesson, token = in_lesson
    clock.now += 15
    assert beat(client, lesson, 0, 15, 1, token).status_code == 200
    draft = make_course(title="还没发布", published=False)
    rows, stored = _progress_rows(learner), heartbeats()
    clock.now += 15
    assert beat(client, draft.lessons[0], 0, 15, 2, token).status_code == 404
    assert _progress_rows(learner) == rows and heartbeats() == stored


def test_republishing_lets_the_learner_carry_on(app, client, login, in_lesson, clock):
    from courses import services

    learner, course, lesson, token = in_lesson
    clock.now += 15
    assert beat(client, lesson, 0, 15, 1, token).status_code == 200
    _unpublish(app, login, course)
    clock.now += 15
    assert beat(client, lesson, 15, 30, 2, token).status_code == 404
    services.publish(course.trainers[0], db.session.merge(course), True)
    db.session.commit()
    clock.now += 15
    assert beat(client, lesson, 15, 30, 3, token).status_code == 200
    assert watched(learner, lesson) == 30
