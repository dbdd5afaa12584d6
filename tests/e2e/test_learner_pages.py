"""Every learner page in a real browser, on a 1024×600 terminal and a 360×640 phone: each link,
button, menu and quiz choice is a tap target of at least 44 × 44 px, and nothing scrolls sideways.

With E2E_SCREENSHOTS=folder each page is saved there as a PNG (to look at, not asserted)."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from lms.extensions import db

PDF = b"%PDF-1.4\n% a feeding schedule\n"

# Visible interactive elements in the page's header and main part, smaller than 44 × 44 px.
SMALL_TARGETS = """() => {
  const out = [];
  const sel = 'header a, header button, main a, main button, main select, main label.choice, '
            + 'main input:not([type=hidden]):not([type=radio]):not([type=checkbox])';
  for (const el of document.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;
    if (r.width < 44 || r.height < 44) {
      out.push(el.outerHTML.slice(0, 100) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
    }
  }
  return out;
}"""


@pytest.fixture
def learner_world(app, make_user, make_ready_asset, catalogue, regions):
    """A course with a video, a text and a PDF lesson and a quiz; a finished one with its certificate."""
    from courses import services
    from courses.models import Programme, Skill
    from lms.learning.services import issue_certificate

    trainer = make_user("trainer", display_name="马师傅")
    learner = make_user("learner", region_code="621123100201", display_name="李梅")
    programme = db.session.scalar(select(Programme).where(Programme.code == "yulu-short"))

    def course(title, skill_code):
        skill = db.session.scalar(select(Skill).where(Skill.code == skill_code))
        return services.save_course(trainer, None, title=title, summary="从基础到实操。", programme_id=programme.id,
                                    skill_id=skill.id)

    pigs = course("生猪养殖", "breeding.pig")
    video = services.add_lesson(trainer, pigs, title="猪舍", kind="video", asset_id=make_ready_asset(owner=trainer).id)
    services.add_lesson(trainer, pigs, title="防疫要点", kind="text", body="按时打疫苗。")
    pdf = services.add_lesson(trainer, pigs, title="喂养时间表", kind="document", document=PDF)
    services.set_quiz(trainer, pigs, 1.0, [{"text": "每天喂几次?", "choices": ["一次", "三次"], "answer": [1]},
                                           {"text": "哪些要消毒?", "choices": ["猪舍", "食槽", "天空"], "answer": [0, 1]}])
    services.publish(trainer, pigs)
    noodles = course("牛肉拉面", "cooking.lamian")
    services.add_lesson(trainer, noodles, title="和面", kind="text", body="三次加水。")
    services.publish(trainer, noodles)
    db.session.commit()
    cert = issue_certificate(learner.id, noodles)
    db.session.commit()
    return {"learner": learner, "course": pigs, "video": video, "pdf": pdf, "cert": cert,
            "skill": pigs.skill.top.code}


def _sign_in(page, base, learner):
    page.goto(f"{base}/signin")
    page.fill("input[name=identifier]", learner.plain_identifier)
    page.fill("input[name=pin]", learner.plain_password)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/learn")


def test_learner_pages_have_large_tap_targets_and_fit_a_phone(live_server, browser_context, learner_world):
    w = learner_world
    page = browser_context.new_page()
    _sign_in(page, live_server, w["learner"])
    page.goto(f"{live_server}/learn/courses/{w['course'].id}")
    page.click("main form button[type=submit]")  # start the course: the course page shows its next step
    paths = {
        "home": "/learn",
        "catalogue": "/learn/courses",
        "catalogue-skill": f"/learn/courses?skill={w['skill']}",
        "course": f"/learn/courses/{w['course'].id}",
        "lesson-video": f"/learn/lessons/{w['video'].id}",
        "lesson-pdf": f"/learn/lessons/{w['pdf'].id}",
        "quiz": f"/learn/courses/{w['course'].id}/quiz",
        "certificate": f"/certificates/{w['cert'].id}",
        "search": "/search?q=养殖",
    }
    shots = os.environ.get("E2E_SCREENSHOTS")
    small, wide = {}, {}
    for width, height in ((1024, 600), (360, 640)):
        page.set_viewport_size({"width": width, "height": height})
        for name, path in paths.items():
            page.goto(live_server + path)
            assert page.url.endswith(path.split("?")[0]) or "?" in path, (name, page.url)
            found = page.evaluate(SMALL_TARGETS)
            if found:
                small[f"{name}@{width}"] = found
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width:
                wide[f"{name}@{width}"] = scroll
            if shots:
                page.screenshot(path=os.path.join(shots, f"learner-{name}-{width}.png"), full_page=True)
    assert small == {}
    assert wide == {}
    # The pieces the issue names are there to be measured.
    page.goto(f"{live_server}/learn/courses/{w['course'].id}/quiz")
    assert page.locator("main label.choice").count() == 5
    page.goto(f"{live_server}/learn")
    assert page.locator("main a.btn[href='/learn/courses']").count() == 1
