"""The learner flow in a real browser: Debian's chromium driven by Python Playwright, headless.

Sign in, play a lesson (hls.js over MSE), lose the network while playing and get it back without
losing a watched second, see that seeking to the end does not complete a lesson, close a tab with
a heartbeat queued offline and find it flushed by the next page, pass the quiz and see the
certificate. Clips are a few seconds long.
"""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lms.extensions import db

def _progress(user_id, lesson_id):
    from lms.learning.models import Progress

    db.session.expire_all()
    return db.session.scalar(select(Progress).where(Progress.user_id == user_id, Progress.lesson_id == lesson_id))


def test_learner_watches_goes_offline_passes_quiz_and_gets_certificate(
        live_server, browser_context, make_user, make_ready_asset, catalogue, regions):
    from courses import services
    from courses.models import Programme, Skill

    trainer = make_user("trainer", display_name="马师傅")
    learner = make_user("learner", region_code="621123100201", display_name="李梅")
    programme = db.session.scalar(select(Programme).where(Programme.code == "yulu-short"))
    skill = db.session.scalar(select(Skill).where(Skill.code == "cooking.lamian"))
    course = services.save_course(trainer, None, title="牛肉拉面", summary="", programme_id=programme.id,
                                  skill_id=skill.id)
    watch = services.add_lesson(trainer, course, title="和面", kind="video",
                                asset_id=make_ready_asset(owner=trainer).id)
    skip = services.add_lesson(trainer, course, title="拉面", kind="video", required=False,
                               asset_id=make_ready_asset(owner=trainer).id)
    services.set_quiz(trainer, course, 1.0, [{"text": "和面加几次水?", "choices": ["一次", "三次"], "answer": [1]}])
    services.publish(trainer, course)
    db.session.commit()
    duration = watch.duration

    page = browser_context.new_page()
    page.goto(f"{live_server}/signin")
    page.fill("input[name=identifier]", learner.plain_identifier)
    page.fill("input[name=pin]", learner.plain_password)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server}/learn")
    assert "李梅" in page.inner_text("header")
    # While the learner looks at the home page, it fetches the player script (hls.js) when idle.
    page.wait_for_function("() => performance.getEntriesByType('resource').some(e => e.name.includes('hls.light'))")
    page.wait_for_function("() => !!window.localStorage.getItem('xx.hls')")

    # Play: hls.js over MSE, currentTime advances; segments come from signed links.
    fetched = []
    page.on("request", lambda r: fetched.append(r.url))
    page.goto(f"{live_server}/learn/lessons/{watch.id}")
    page.evaluate("document.getElementById('player').play()")
    page.wait_for_function("() => document.getElementById('player').currentTime > 1", timeout=20000)
    assert page.evaluate("!!window.Hls")
    assert any("/media/s/" in u and u.endswith(".m4s") for u in fetched)
    # The link drops while playing: the rest plays from the buffer, heartbeats queue up.
    browser_context.set_offline(True)
    page.wait_for_function("() => document.getElementById('player').ended", timeout=20000)
    page.wait_for_function("() => window.XXQueue.pending() > 0")
    offline = _progress(learner.id, watch.id)
    assert offline.watched_seconds < duration * 0.9  # the end was watched offline, not yet known
    # The page says so plainly, with how many records wait.
    note = page.locator("#offline-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("网络断了，学习进度先存在这台电脑上，联网后自动上传")
    waiting = page.evaluate("() => window.XXQueue.pending()")
    expect(page.locator("#offline-count")).to_have_text(f"等待上传的学习记录：{waiting} 条。")
    browser_context.set_offline(False)
    page.wait_for_function("() => window.XXQueue.pending() === 0", timeout=30000)
    expect(note).to_be_hidden()  # gone once what waited is sent
    done = _progress(learner.id, watch.id)
    played = page.evaluate("document.getElementById('player').played.end(0)")
    assert done.watched_seconds >= played - 0.6  # nothing watched offline was lost
    assert done.completed_at is not None

    # Seeking straight to the end does not complete a lesson.
    page.goto(f"{live_server}/learn/lessons/{skip.id}")
    page.evaluate("""() => new Promise((resolve) => {
        const v = document.getElementById('player');
        const go = () => { v.currentTime = v.duration - 0.5; v.play(); };
        if (v.readyState >= 1) { go(); } else { v.addEventListener('loadedmetadata', go, {once: true}); v.play(); }
        v.addEventListener('ended', () => resolve(), {once: true});
    })""")
    page.wait_for_function("() => window.XXQueue.pending() === 0", timeout=20000)
    skipped = _progress(learner.id, skip.id)
    assert skipped.completed_at is None and skipped.coverage < 0.5

    # A heartbeat queued offline survives closing the tab: the next page flushes it.
    browser_context.set_offline(True)
    page.evaluate(f"""() => window.XXQueue.push({{lesson: {skip.id}, intervals: [[0, 1]], position: 1,
                                                 client_id: 'closed-tab', seq: 1}})""")
    assert page.evaluate("() => window.XXQueue.pending()") == 1
    page.close()
    browser_context.set_offline(False)
    page = browser_context.new_page()
    page.goto(f"{live_server}/learn")
    page.wait_for_function("() => window.XXQueue.pending() === 0", timeout=20000)
    from lms.learning.models import Heartbeat

    db.session.expire_all()
    assert db.session.scalar(select(Heartbeat.id).where(Heartbeat.client_id == "closed-tab")) is not None

    # The quiz, then the certificate.
    page.goto(f"{live_server}/learn/courses/{course.id}/quiz")
    page.check("input[type=radio][value='1']")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server}/learn/courses/{course.id}")
    page.click("a[href^='/certificates/']")
    assert "培训合格证书" in page.inner_text("main") and "牛肉拉面" in page.inner_text("main")
    assert page.locator(".qr svg").count() == 1
    expect(page.locator("#print")).to_be_visible()
    # On a 360 px phone the certificate fits: no sideways scrolling.
    page.set_viewport_size({"width": 360, "height": 640})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    if os.environ.get("E2E_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["E2E_SCREENSHOTS"], "certificate-360.png"), full_page=True)
        page.emulate_media(media="print")
        page.screenshot(path=os.path.join(os.environ["E2E_SCREENSHOTS"], "certificate-print.png"), full_page=True)


@pytest.fixture
def twelve_second_lesson(app, make_user, catalogue, regions, tmp_path):
    """A course whose one lesson is a 12 s video (the shared test clips are 4 s: too short to
    stop in the middle and come back), transcoded for real."""
    from courses import services
    from courses.models import Programme, Skill
    from media.services import ingest_file
    from tests.media import clips

    trainer = make_user("trainer", display_name="马师傅")
    asset = ingest_file(clips.make_video(str(tmp_path / "long.mp4"), size="320x180", seconds=12), "和面",
                        owner=trainer, wait=True)
    assert asset.status.value == "ready", asset.error_message
    programme = db.session.scalar(select(Programme).where(Programme.code == "yulu-short"))
    skill = db.session.scalar(select(Skill).where(Skill.code == "cooking.lamian"))
    course = services.save_course(trainer, None, title="牛肉拉面", summary="", programme_id=programme.id,
                                  skill_id=skill.id)
    lesson = services.add_lesson(trainer, course, title="和面", kind="video", asset_id=asset.id)
    services.publish(trainer, course)
    db.session.commit()
    return lesson


def test_a_lesson_reopens_where_the_learner_stopped(live_server, browser_context, make_user, twelve_second_lesson):
    lesson = twelve_second_lesson
    learner = make_user("learner", region_code="621123100201", display_name="李梅")
    page = browser_context.new_page()
    # A terminal's first visit straight to a lesson: the home page's prefetch of the player script
    # never happens.
    page.route("**/prefetch.js*", lambda route: route.abort())
    page.goto(f"{live_server}/signin")
    page.fill("input[name=identifier]", learner.plain_identifier)
    page.fill("input[name=pin]", learner.plain_password)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server}/learn")

    page.goto(f"{live_server}/learn/lessons/{lesson.id}")
    big = page.locator("#big-play")
    expect(big).to_be_visible()  # the large ▶ starts the lesson
    big.click()
    expect(big).to_be_hidden()
    # Stop a little after 4 s (paused in the same check, so a slow machine does not run on): a pause
    # sends the position.
    page.wait_for_function("""() => { const v = document.getElementById('player');
        if (v.currentTime > 4) { v.pause(); return true; } return false; }""", timeout=20000)
    # Without the player script cached, the first frame came from the progressive MP4; the script
    # was fetched once the picture moved, for the next lesson.
    assert page.evaluate("document.getElementById('player').currentSrc").split("?")[0].endswith(".mp4")
    page.wait_for_function("() => !!window.Hls && !!window.localStorage.getItem('xx.hls')")
    expect(big).to_be_visible()
    page.wait_for_function("() => window.XXQueue.pending() === 0", timeout=20000)
    saved = _progress(learner.id, lesson.id).position
    assert 4 <= saved < 12 - 3

    page.goto(f"{live_server}/learn/lessons/{lesson.id}")
    expect(page.locator("#resume-note")).to_contain_text(f"从上次看到的地方继续：0:{int(saved):02d}")
    page.locator("#big-play").click()
    # The played ranges fill only once the picture has moved (a seek alone sets currentTime).
    page.wait_for_function("""() => { const p = document.getElementById('player').played;
        return p.length > 0 && p.end(0) > p.start(0); }""", timeout=20000)
    # Now through hls.js (cached), and it started where it stopped: nothing before was played.
    assert page.evaluate("document.getElementById('player').currentSrc").startswith("blob:")
    assert page.evaluate("document.getElementById('player').played.start(0)") >= saved - 0.5
