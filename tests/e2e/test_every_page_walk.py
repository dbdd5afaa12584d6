"""Every page of the app in a real browser, as the learner, the trainer, the official and the admin
open them, in Chinese and in English, on a 1024×600 terminal and a 360×640 phone.

axe looks at each page (tests/e2e/conftest.py) and the test fails on any violation; no page may
scroll sideways; every page is saved as a PNG under tests/artifacts/screenshots/ (E2E_SCREENSHOTS
names another folder) for a person to look at.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.lms.test_every_page import VILLAGE, _args, _forget_search_index, world  # noqa: F401 (fixtures)

SIZES = ((1024, 600), (360, 640))
LANGUAGES = ("zh_Hans_CN", "en")


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("E2E_SCREENSHOTS") or Path(__file__).resolve().parents[1] / "artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _pages(world) -> dict[str, list[tuple[str, str]]]:
    """(name, path) of the pages each role works with, drill-downs and filters included."""
    a = _args(world)
    course, lesson, household = a["learner.course"]["course_id"], a["learner.lesson"]["lesson_id"], world["household"]
    batch = world["subsidy"].batch.id
    return {
        "learner": [("home", "/learn"), ("catalogue", "/learn/courses"), ("course", f"/learn/courses/{course}"),
                    ("lesson", f"/learn/lessons/{lesson}"), ("quiz", f"/learn/courses/{course}/quiz"),
                    ("certificate", f"/certificates/{world['cert'].id}"), ("search", "/search?q=拉面"),
                    ("change-pin", "/account/password")],
        "trainer": [("courses", "/teach"), ("course-new", "/teach/courses/new"),
                    ("course-manage", f"/teach/courses/{course}"), ("course-edit", f"/teach/courses/{course}/edit"),
                    ("course-quiz", f"/teach/courses/{course}/quiz"),
                    ("course-progress", f"/teach/courses/{course}/progress"), ("media", "/media/"),
                    ("upload", "/media/upload"), ("media-show", f"/media/{world['asset'].id}"),
                    ("classes", "/skills/classes"),
                    ("class", f"/skills/classes/{world['class'].id}")],
        "official": [("households", "/households/"), ("household", f"/households/{household.id}"),
                     ("households-filter", f"/households/?region={VILLAGE}"),
                     ("import", "/households/import"), ("import-status", f"/households/import/{world['import'].id}"),
                     ("register", "/households/register"), ("link", "/households/link"),
                     ("dashboard", "/stats/skills"), ("dashboard-county", "/stats/skills?region=621123000000"),
                     ("dashboard-village", f"/stats/skills?region={VILLAGE}"), ("courses-stats", "/stats/courses"),
                     ("followup", "/followup"), ("awards", "/skills/awards"), ("subsidies", "/subsidies"),
                     ("subsidy-batch", f"/subsidies/batches/{batch}"),
                     ("subsidy-history", f"/subsidies/batches/{batch}/history"),
                     ("subsidy-notice", f"/subsidies/batches/{batch}/notice"),
                     ("subsidy-public-notice", f"/subsidies/notice/{world['subsidy'].batch.notice_token}"),
                     ("subsidy-account", f"/subsidies/households/{world['subsidy'].household.id}/account"),
                     ("subsidy-figures", "/subsidies/figures")],
        "admin": [("users", "/admin/users"), ("audit", "/admin/audit"), ("jobs", "/admin/jobs"),
                  ("settings", "/admin/settings"), ("synonyms", "/admin/search/synonyms"),
                  ("terminals", "/terminals"), ("media-alerts", "/media/alerts"), ("subsidy-rules", "/subsidies/rules")],
    }


def _sign_in(page, base, user):
    if user.role.value == "learner":
        page.goto(f"{base}/signin")
        page.fill("input[name=identifier]", user.plain_identifier)
        page.fill("input[name=pin]", user.plain_password)
    else:
        page.goto(f"{base}/signin/staff")
        page.fill("input[name=username]", user.plain_identifier)
        page.fill("input[name=password]", user.plain_password)
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/signin" not in url)


@pytest.mark.parametrize("role", ("learner", "trainer", "official", "admin"))
def test_every_page_fits_a_phone_and_passes_axe(role, live_server, browser_context, world):
    from tests.e2e.conftest import axe_settled

    folder = screenshot_dir()
    page = browser_context.new_page()
    _sign_in(page, live_server, world[role])
    host = live_server.split("//")[1].split(":")[0]
    wide, failed = {}, {}
    for lang in LANGUAGES:
        browser_context.add_cookies([{"name": "lang", "value": lang, "domain": host, "path": "/"}])
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            for name, path in _pages(world)[role]:
                response = page.goto(live_server + path)
                if response is None or response.status != 200:
                    failed[f"{name} {lang}"] = response and response.status
                    continue
                expected = "zh-Hans-CN" if lang != "en" else "en"
                assert page.get_attribute("html", "lang") == expected, (name, lang)
                axe_settled(page)  # one look per page is enough; this keeps the loads from piling up
                scroll = page.evaluate("document.scrollingElement.scrollWidth")
                if scroll > page.evaluate("innerWidth"):
                    wide[f"{name} {lang} @{width}"] = scroll
                short = "zh" if lang != "en" else "en"
                page.screenshot(path=str(folder / f"{role}-{name}-{short}-{width}.png"), full_page=True)
    assert failed == {}
    assert wide == {}, "pages that scroll sideways"


def test_region_picker_fills_each_step_from_the_one_above(live_server, browser_context, make_user, regions):
    """With JavaScript the township and village menus fill as the county and township are chosen
    (the next-level button is hidden), and the deepest choice is what the form saves."""
    from lms.accounts.models import User
    from lms.extensions import db

    admin = make_user("admin")
    page = browser_context.new_page()
    _sign_in(page, live_server, admin)
    page.goto(f"{live_server}/admin/users")
    expect(page.locator(".region-next")).to_be_hidden()
    assert page.locator("#region_code-5").is_disabled()
    page.select_option("#region_code-3", "621123000000")
    page.wait_for_function("() => document.querySelectorAll('#region_code-4 option').length > 1")
    assert page.locator("#region_code-4 option").first.inner_text() == "（渭源县全部）"
    page.select_option("#region_code-4", "621123100000")
    page.wait_for_function("() => document.querySelectorAll('#region_code-5 option').length > 1")
    page.select_option("#region_code-5", "621123100202")
    page.fill("#username", "cunguan2")
    page.select_option("#role", "official")
    page.fill("#password", "long-enough-1")
    page.click("main form button.primary")
    page.wait_for_load_state()
    db.session.expire_all()
    assert db.session.scalar(db.select(User.region_code).where(User.username == "cunguan2")) == "621123100202"
    # Choosing another county empties the steps below it.
    page.goto(f"{live_server}/admin/users")
    page.select_option("#region_code-3", "621123000000")
    page.wait_for_function("() => document.querySelectorAll('#region_code-4 option').length > 1")
    page.select_option("#region_code-4", "621123100000")
    page.wait_for_function("() => document.querySelectorAll('#region_code-5 option').length > 1")
    page.select_option("#region_code-3", "")
    assert page.locator("#region_code-4 option").count() == 1 and page.locator("#region_code-5").is_disabled()
