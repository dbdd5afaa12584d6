"""Reading a document counts from the first opening of the lesson or of its PDF."""
import re
import time

import pytest

from lms.extensions import db

PDF = b"%PDF-1.4\n% a feeding schedule\n"


@pytest.fixture
def pdf_lesson(make_course, make_user):
    from courses import services

    trainer = make_user("trainer")
    course = make_course(trainer=trainer, lessons=(("text", "要点"),))
    lesson = services.add_lesson(trainer, course, title="喂养时间表", kind="document", document=PDF)
    db.session.commit()
    return lesson


def _progress(user, lesson):
    from lms.learning.services import get_progress

    db.session.expire_all()
    return get_progress(user.id, lesson.id)


def test_coming_back_does_not_restart_the_clock_and_too_soon_says_how_long(
        client, login, make_user, pdf_lesson, regions, clock):
    learner = make_user("learner", region_code="621123100201")
    login(client, learner)
    page = client.get(f"/learn/lessons/{pdf_lesson.id}").get_data(as_text=True)
    assert "请至少阅读 30 秒" in page
    first = _progress(learner, pdf_lesson).opened_at
    clock.now = time.time() + 20

    r = client.post_form(f"/learn/lessons/{pdf_lesson.id}/done", follow_redirects=True)
    assert "还没到时间：请再读 10 秒" in r.get_data(as_text=True)
    assert _progress(learner, pdf_lesson).completed_at is None

    # Back to the lesson later: the clock goes on from the first opening.
    page = client.get(f"/learn/lessons/{pdf_lesson.id}").get_data(as_text=True)
    assert _progress(learner, pdf_lesson).opened_at == first
    assert re.search(r'id="reading-left">你之前已经打开过：再读 10 秒', page)
    clock.now += 10
    r = client.post_form(f"/learn/lessons/{pdf_lesson.id}/done", follow_redirects=True)
    assert '<p class="flash success" role="status">本课已完成。</p>' in r.get_data(as_text=True)
    assert _progress(learner, pdf_lesson).completed_at is not None


def test_opening_the_pdf_itself_starts_the_clock(client, login, make_user, pdf_lesson, regions, clock):
    learner = make_user("learner", region_code="621123100201")
    login(client, learner)
    with client.get(f"/learn/lessons/{pdf_lesson.id}/document.pdf") as r:
        assert r.status_code == 200 and r.data == PDF
    opened = _progress(learner, pdf_lesson).opened_at
    assert opened is not None
    clock.now = time.time() + 31
    page = client.get(f"/learn/lessons/{pdf_lesson.id}").get_data(as_text=True)
    assert _progress(learner, pdf_lesson).opened_at == opened
    assert "阅读时间已经够了" in page
    client.post_form(f"/learn/lessons/{pdf_lesson.id}/done")
    assert _progress(learner, pdf_lesson).completed_at is not None


def test_pressing_at_once_is_refused_and_changes_nothing(client, login, make_user, pdf_lesson, regions, clock):
    from courses.models import Enrolment

    learner = make_user("learner", region_code="621123100201")
    login(client, learner)
    client.get(f"/learn/lessons/{pdf_lesson.id}")
    clock.now = time.time()
    r = client.post_form(f"/learn/lessons/{pdf_lesson.id}/done", follow_redirects=True)
    assert "请再读 30 秒" in r.get_data(as_text=True)
    assert _progress(learner, pdf_lesson).completed_at is None
    assert db.session.query(Enrolment).one().completed_at is None


def test_a_video_lesson_moves_its_opening_for_the_pacing_clock(client, login, make_user, make_course, regions):
    course = make_course()
    learner = make_user("learner", region_code="621123100201")
    login(client, learner)
    client.get(f"/learn/lessons/{course.lessons[0].id}")
    first = _progress(learner, course.lessons[0]).opened_at
    client.get(f"/learn/lessons/{course.lessons[0].id}")
    assert _progress(learner, course.lessons[0]).opened_at > first
