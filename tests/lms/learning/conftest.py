"""Fixtures of the learning tests: a learner with a lesson page open (the clock is the shared
``clock``, tests/clock_fixtures.py)."""

import pytest


@pytest.fixture
def learner_in_lesson(client, login, make_user, make_course, regions):
    course = make_course(lessons=(("video", 100.0), ("text", "要点")),
                         quiz=(0.5, [{"text": "几次?", "choices": ["一", "三"], "answer": [1]}]))
    learner = make_user("learner", region_code="621123100201", display_name="李梅")
    login(client, learner)
    lesson = course.lessons[0]
    assert client.get(f"/learn/lessons/{lesson.id}").status_code == 200
    return learner, course, lesson
