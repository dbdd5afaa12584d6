"""Always a next step: what is left before the certificate, 继续学习, progress bars, resume, ▶."""
import re

import pytest
from sqlalchemy import select

from lms.extensions import db

VILLAGE = "621123100201"
PDF = b"%PDF-1.4\n% a feeding schedule\n"


@pytest.fixture
def pig_course(make_course, make_user):
    """Video 第1课, text 第2课, then a PDF lesson 喂养时间表; a one-question quiz."""
    from courses import services

    trainer = make_user("trainer")
    course = make_course(trainer=trainer, title="生猪养殖", lessons=(("video", 100.0), ("text", "要点")),
                         quiz=(1.0, [{"text": "几次?", "choices": ["一", "三"], "answer": [1]}]))
    services.add_lesson(trainer, course, title="喂养时间表", kind="document", document=PDF)
    db.session.commit()
    return course


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _complete(user, lesson):
    from lms.db import utcnow
    from lms.learning.services import get_progress

    get_progress(user.id, lesson.id, create=True).completed_at = utcnow()
    db.session.commit()


def test_course_page_says_what_is_left_and_continues_to_the_next_unfinished_lesson(
        client, login, make_user, pig_course, regions):
    video, text, pdf = pig_course.lessons
    learner = make_user("learner", region_code=VILLAGE)
    login(client, learner)
    client.post_form(f"/learn/courses/{pig_course.id}/enrol")
    _complete(learner, video)
    client.get(f"/learn/lessons/{text.id}")  # a text lesson completes on opening

    page = client.get(f"/learn/courses/{pig_course.id}").get_data(as_text=True)
    assert "还差 1 课：喂养时间表（PDF）" in _text(page)
    assert "然后参加测验" in page
    button = re.search(r'<a class="btn primary big" href="([^"]+)">继续学习</a>', page)
    assert button and button.group(1) == f"/learn/lessons/{pdf.id}"
    assert 'aria-valuenow="50"' in page  # 2 of 4 steps (3 lessons and the quiz)

    _complete(learner, pdf)
    page = client.get(f"/learn/courses/{pig_course.id}").get_data(as_text=True)
    assert "只差测验了" in page and "还差 " not in page
    assert re.search(rf'<a class="btn primary big" href="/learn/courses/{pig_course.id}/quiz">参加测验</a>', page)


def test_continue_goes_back_to_a_half_watched_lesson(client, login, make_user, pig_course, regions):
    video, text, pdf = pig_course.lessons
    learner = make_user("learner", region_code=VILLAGE)
    login(client, learner)
    client.get(f"/learn/lessons/{pdf.id}")  # the last lesson opened, not read yet
    page = client.get(f"/learn/courses/{pig_course.id}").get_data(as_text=True)
    assert re.search(rf'href="/learn/lessons/{pdf.id}">继续学习</a>', page)
    assert "还差 3 课：第1课（视频）、第2课（图文）和喂养时间表（PDF）" in _text(page)


def test_not_enrolled_sees_start_and_no_next_step(client, login, make_user, pig_course, regions):
    login(client, make_user("learner", region_code=VILLAGE))
    page = client.get(f"/learn/courses/{pig_course.id}").get_data(as_text=True)
    assert "开始学习这门课" in page or "开始学习" in page
    assert "继续学习" not in page and "还差 " not in page


def test_home_shows_each_course_in_progress_with_a_bar(client, login, make_user, make_course, pig_course, regions):
    from courses.models import Enrolment

    other = make_course(title="电焊入门", lessons=(("text", "安全"), ("text", "姿势")))
    learner = make_user("learner", region_code=VILLAGE)
    login(client, learner)
    client.get(f"/learn/lessons/{other.lessons[0].id}")  # text: done on opening; 1 of 2
    client.get(f"/learn/lessons/{pig_course.lessons[0].id}")
    home = client.get("/learn").get_data(as_text=True)
    items = re.findall(r'<li class="course-progress">(.*?)</li>', home, re.S)
    assert len(items) == 2
    assert "生猪养殖" in items[0] and "电焊入门" in items[1]  # the most recently active first
    assert 'aria-valuenow="0"' in items[0] and "已完成 0 / 4 步" in _text(items[0])
    assert 'aria-valuenow="50"' in items[1] and "已完成 1 / 2 步" in _text(items[1])
    assert f'href="/learn/lessons/{other.lessons[1].id}">继续学习：第2课</a>' in items[1]
    # A finished course leaves the list.
    db.session.scalar(select(Enrolment).where(Enrolment.course_id == other.id)).completed_at = \
        db.session.scalar(select(Enrolment.created_at).where(Enrolment.course_id == other.id))
    db.session.commit()
    home = client.get("/learn").get_data(as_text=True)
    assert "电焊入门" not in "".join(re.findall(r'<li class="course-progress">(.*?)</li>', home, re.S))
    # A course no longer offered in the learner's village leaves it too (its pages would be 404).
    from courses import services

    services.save_course(_creator(pig_course), pig_course,
                         title=pig_course.title, summary="", programme_id=pig_course.programme_id,
                         skill_id=pig_course.skill_id, regions=["621102000000"])
    db.session.commit()
    home = client.get("/learn").get_data(as_text=True)
    assert re.findall(r'<li class="course-progress">', home) == []


def _creator(course):
    from lms.accounts.models import User

    return db.session.get(User, course.created_by_id)


def test_lesson_reopens_at_the_saved_position(client, login, make_user, pig_course, regions):
    from lms.learning.services import get_progress

    video = pig_course.lessons[0]
    learner = make_user("learner", region_code=VILLAGE)
    login(client, learner)
    page = client.get(f"/learn/lessons/{video.id}").get_data(as_text=True)
    assert 'data-resume="0.0"' in page and "从上次看到的地方继续" not in page
    get_progress(learner.id, video.id).position = 65.0  # 1:05 of 100 s, saved by a heartbeat
    db.session.commit()
    page = client.get(f"/learn/lessons/{video.id}").get_data(as_text=True)
    assert 'data-resume="65.0"' in page
    assert "从上次看到的地方继续：1:05" in page
    # Stopped at the very end: the lesson starts again from the beginning.
    get_progress(learner.id, video.id).position = 99.0
    db.session.commit()
    page = client.get(f"/learn/lessons/{video.id}").get_data(as_text=True)
    assert 'data-resume="0.0"' in page and "从上次看到的地方继续" not in page


def test_video_has_a_large_play_button(client, login, make_user, pig_course, regions):
    login(client, make_user("learner", region_code=VILLAGE))
    page = client.get(f"/learn/lessons/{pig_course.lessons[0].id}").get_data(as_text=True)
    assert re.search(r'<button type="button" id="big-play" class="big-play" hidden aria-label="播放">', page)


def test_lesson_page_carries_the_offline_notice_hidden_until_the_link_drops(client, login, make_user, pig_course,
                                                                           regions):
    login(client, make_user("learner", region_code=VILLAGE))
    page = client.get(f"/learn/lessons/{pig_course.lessons[0].id}").get_data(as_text=True)
    note = re.search(r'<p id="offline-note" class="flash warn" role="status" hidden(.*?)</p>', page, re.S)
    assert note, "the notice is on the page, hidden while the link works"
    assert "网络断了，学习进度先存在这台电脑上，联网后自动上传。" in note.group(1)
    assert 'data-many="等待上传的学习记录：%s 条。"' in note.group(1)
    assert '<span id="offline-count"></span>' in note.group(1)
