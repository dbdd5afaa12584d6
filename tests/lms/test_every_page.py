"""Every GET page of the app, rendered in Chinese with representative data, shows no internal code.

The walk covers ``app.url_map``: a new page with URL arguments must be given its arguments in
``_ARGS`` (or listed in ``_NOT_PAGES``), so no page escapes the check.
"""
from __future__ import annotations

import csv
import datetime as dt
import html
import re

import pytest

from lms.extensions import db

VILLAGE = "621123100201"


def _codes(app) -> set[str]:
    """Every internal code a person must never read: enum values, roles, states, audit actions,
    task names."""
    from courses.models import LessonKind, SkillCategory
    from lms.accounts.models import Role
    from lms.audit.models import AuditEntry
    from lms.households.uploads import STATES
    from lms.skills.models import Evidence, Source
    from media.models import AssetStatus

    codes = {m.value for enum in (Role, LessonKind, SkillCategory, Evidence, Source, AssetStatus) for m in enum}
    from lms.subsidies.batches import DETAILS, EXCLUSIONS
    from lms.subsidies.models import BATCH_STATES, EVIDENCE, FREQUENCIES, OUTCOMES, ROW_STATES, STRANDS

    for table in (BATCH_STATES, EVIDENCE, FREQUENCIES, OUTCOMES, ROW_STATES, STRANDS, DETAILS, EXCLUSIONS):
        codes |= set(table)
    codes |= set(STATES)
    codes |= set(db.session.scalars(db.select(AuditEntry.action).distinct()))
    from lms.queue import huey

    codes |= {name for name in huey._registry._registry if not name.startswith("tests.")}
    # The households categories' codes are digits ("01"), which dates and counts contain too; their
    # labels are checked by the registry's own tests.
    return {c for c in codes if not c.isdigit()}


_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->|<[^>]+>", re.S)


def visible_text(page: str) -> str:
    """What a person reads: the page without tags, scripts, styles and attributes."""
    return html.unescape(_TAGS.sub(" ", page))


def raw_codes(text: str, codes: set[str]) -> list[str]:
    found = []
    for code in codes:
        match = re.search(rf"(?<![\w./-]){re.escape(code)}(?![\w/-])", text)
        if match:
            found.append(f"{code} in “{text[max(0, match.start() - 30):match.end() + 30].strip()}”")
    return sorted(found)


@pytest.fixture
def world(app, regions, make_user, make_ready_asset, tmp_path, runner, request, subsidy_on_notice):
    """A trainer's course with one lesson of each kind and a quiz, a learner who finished it, a
    registry import, an offline class, awards, a terminal: every page has something to show."""
    from sqlalchemy import select

    from courses import services as courses
    from courses.models import Programme, Skill
    from lms.households.models import HouseholdImport
    from lms.accounts.models import Terminal
    from lms.learning.services import ensure_enrolment, issue_certificate
    from lms.accounts.terminals import register_terminal
    from lms.skills import services as skills
    from lms.skills.models import Evidence, Source, SkillAward
    from media.models import Asset, AssetStatus

    courses.seed_catalogue()
    admin = make_user("admin", username="guanliyuan", display_name="管理员")
    official = make_user("official", region_code="621123000000", username="xianban", display_name="渭源县扶贫办")
    trainer = make_user("trainer", username="wanglaoshi", display_name="王老师")
    learner = make_user("learner", region_code=VILLAGE, display_name="李学员")
    db.session.commit()

    video = make_ready_asset("养牛录像", "video", owner=trainer)
    audio = make_ready_asset("广播讲座", "audio", owner=trainer)
    db.session.add(Asset(title="断了的上传", owner_id=trainer.id, status=AssetStatus.uploading,
                         original_name="a.mp4", upload_size=1000, upload_offset=400))
    db.session.add(Asset(title="坏的录像", owner_id=trainer.id, status=AssetStatus.failed, kind="video",
                         original_name="b.mp4", error_code="undecodable"))
    programme = db.session.scalar(select(Programme).where(Programme.code == "yulu-short"))
    skill = db.session.scalar(select(Skill).where(Skill.code == "cooking.lamian"))
    course = courses.save_course(trainer, None, title="牛肉拉面入门", summary="拉面", programme_id=programme.id,
                                 skill_id=skill.id, regions=["621123000000"])
    courses.add_lesson(trainer, course, title="看录像", kind="video", asset_id=video.id)
    courses.add_lesson(trainer, course, title="听讲座", kind="audio", asset_id=audio.id)
    courses.add_lesson(trainer, course, title="读一读", kind="text", body="正文")
    courses.set_quiz(trainer, course, 0.6, [{"text": "面要揉多久？", "choices": ["5 分钟", "20 分钟"],
                                             "answer": [1]}])
    courses.publish(trainer, course, True)
    ensure_enrolment(learner.id, course.id)
    cert = issue_certificate(learner.id, course)
    _terminal, terminal_token = register_terminal(admin, "示例一村服务站", VILLAGE)
    db.session.commit()

    path = tmp_path / "export.csv"
    from tests.lms.households.records import family

    rows = family("H1", 1)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)
    result = runner.invoke(args=["households", "import", str(path), "--by", "xianban"])
    assert result.exit_code == 0, result.output
    for n, status in enumerate(("uploaded", "queued", "running", "done", "failed", "expired", "discarded")):
        db.session.add(HouseholdImport(user_id=official.id, filename=f"导出{n}.csv", stored_path="/nonexistent",
                                       status=status, report={"rows": 3, "errors": [], "warnings": []}))
    db.session.commit()
    from lms.households.models import Household, Member

    household = db.session.scalar(select(Household))
    member = db.session.scalar(select(Member).where(Member.household_id == household.id))
    skills.award_skill(skill_id=skill.id, member=member, evidence=Evidence.training_certificate,
                       source=Source.certificate_import, awarded_on=dt.date(2024, 5, 10), actor=official)
    klass = skills.create_class(title="拉面班", skill_id=skill.id, region_code=VILLAGE,
                                starts_on=dt.date(2024, 5, 1), ends_on=dt.date(2024, 5, 3), trainer=trainer)
    db.session.commit()
    from tests.lms.households.records import make_id

    skills.add_trainees(klass, [make_id("19800101", 11)], trainer)
    session = skills.add_session(klass, dt.date(2024, 5, 1), 3, "和面", trainer)
    skills.take_attendance(session, {1}, trainer)
    db.session.commit()
    trainee = klass.trainees[0]
    request.addfinalizer(_forget_search_index)
    from lms.queue import TaskFailure

    db.session.add(TaskFailure(task="media.tasks.transcode_job", args=[video.id], error="ffmpeg exited with 1"))
    db.session.commit()
    return {"admin": admin, "official": official, "trainer": trainer, "learner": learner, "course": course,
            "lesson": course.lessons[0], "asset": video, "cert": cert, "household": household,
            "import": db.session.scalar(select(HouseholdImport).where(HouseholdImport.status == "done")),
            "class": klass, "trainee": trainee, "award": db.session.scalar(select(SkillAward)),
            "terminal": db.session.scalar(select(Terminal)), "terminal_token": terminal_token,
            "subsidy": subsidy_on_notice}


def _forget_search_index():
    """The course published here is in the shared index folder and this process's open searcher:
    drop both, so later search tests start from their own index (a rebuilt index may reuse the
    generation name the cached searcher holds), and forget the synonyms read while none were seeded."""
    import shutil

    from flask import current_app

    from search.queries import forget_synonyms
    from search.searcher import forget_searcher
    from search.storage import index_root

    root = index_root(current_app)
    forget_searcher(root)
    shutil.rmtree(root, ignore_errors=True)
    forget_synonyms()


# Endpoints that answer files, JSON or redirects rather than pages a person reads.
_NOT_PAGES = {"static", "courses.static", "learning.static", "households.static", "media.static", "stats.static",
              "media.file", "media.status", "media.upload_state", "courses.captions", "learner.document",
              "courses.question_image", "skills.photo", "households.export", "households.import_progress",
              "stats.skills_api", "stats.skills_export", "stats.followup_export", "followup.export", "search.api",
              "main.session_status", "deploy.healthz", "learning.verify", "regions.children",
              "subsidies.figures_export", "subsidies.figures_api"}


def _args(world) -> dict[str, dict]:
    return {
        "learner.course": {"course_id": world["course"].id},
        "learner.quiz": {"course_id": world["course"].id},
        "learner.lesson": {"lesson_id": world["lesson"].id},
        "courses.manage": {"course_id": world["course"].id},
        "courses.edit": {"course_id": world["course"].id},
        "learner.course_progress": {"course_id": world["course"].id},
        "courses.edit_quiz": {"course_id": world["course"].id},
        "learning.certificate": {"cert_id": world["cert"].id},
        "households.detail": {"household_id": world["household"].id},
        "households.import_status": {"import_id": world["import"].id},
        "media.show": {"asset_id": world["asset"].id},
        "skills.class_detail": {"class_id": world["class"].id},
        "learning.terminal_pin": {"user_id": world["learner"].id},
        "subsidies.batch": {"batch_id": world["subsidy"].batch.id},
        "subsidies.history": {"batch_id": world["subsidy"].batch.id},
        "subsidies.notice": {"batch_id": world["subsidy"].batch.id},
        "subsidies.public_notice": {"token": world["subsidy"].batch.notice_token},
        "subsidies.account": {"household_id": world["subsidy"].household.id},
    }


# Who opens each area's pages (the first that may).
def _who(endpoint: str) -> tuple[str, ...]:
    if endpoint in ("learning.terminal_signin", "learning.terminal_pin"):
        return ("terminal",)
    area = endpoint.split(".")[0]
    return {"admin": ("admin",), "households": ("official", "admin"), "stats": ("official", "admin"),
            "media": ("trainer", "admin"), "skills": ("trainer", "official"),
            "subsidies": ("official", "admin"), "search": ("learner", "admin"),
            "learning": ("learner", "admin"), "learner": ("learner", "trainer"), "courses": ("trainer", "learner"),
            "accounts": ("anonymous", "trainer"), "main": ("anonymous", "admin", "official", "trainer",
                                                         "learner")}.get(area, ("admin",))


def test_no_page_shows_an_internal_code(app, world, login, make_user):
    from flask import url_for

    codes = _codes(app)
    assert {"video", "official", "uploaded", "course.create"} <= codes
    args = _args(world)
    clients = {}
    problems, visited, opened = [], 0, set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in _NOT_PAGES:
            continue
        assert not rule.arguments or rule.endpoint in args or rule.arguments <= set(rule.defaults or {}), \
            f"give {rule.endpoint} its arguments in _ARGS"
        with app.test_request_context():
            url = url_for(rule.endpoint, **args.get(rule.endpoint, {}))
        seen = 0
        for who in dict.fromkeys(_who(rule.endpoint) + ("admin", "anonymous")):
            client = clients.get(who)
            if client is None:
                client = clients[who] = app.test_client()
                if who == "terminal":  # a browser registered as the village's terminal, nobody signed in
                    from lms.accounts.terminals import COOKIE

                    client.set_cookie(COOKIE, world["terminal_token"])
                elif who != "anonymous":
                    login(client, world[who])
            response = client.get(url, headers={"Accept-Language": "zh-CN"})
            if response.status_code in (301, 302, 303, 403):
                continue
            assert response.status_code == 200, (who, url, response.status_code)
            if not response.mimetype == "text/html":
                continue
            visited, seen = visited + 1, seen + 1
            opened.add(rule.endpoint)
            page = response.get_data(as_text=True)
            for header in re.findall(r"<th\b[^>]*>(.*?)</th>", page, re.S):
                if not visible_text(header).strip():
                    problems.append(f"{who} {url}: a table column without a header")
            text = visible_text(page)
            found = raw_codes(text, codes)
            if found:
                problems.append(f"{who} {url}: {found}")
        assert seen or rule.endpoint in _ONLY_REDIRECTS, f"nobody could open {url}"
        for query in _QUERIES.get(rule.endpoint, ()):
            client = clients[_who(rule.endpoint)[0]]
            text = visible_text(client.get(url, query_string=query, headers={"Accept-Language": "zh-CN"})
                                .get_data(as_text=True))
            found = raw_codes(text, codes)
            if found:
                problems.append(f"{url}?{query}: {found}")
    assert visited >= 30
    assert {"learning.terminal_signin", "learning.terminal_pin"} <= opened
    assert not problems, "\n".join(problems)


# Pages that send everyone elsewhere once signed in (or without a terminal).
_ONLY_REDIRECTS = {"main.index", "households.link_pin", "accounts.signin", "accounts.signin_staff"}

# Pages whose second look (a search, a filter) shows other things.
_QUERIES = {"search.results": ({"q": "拉面"},), "admin.audit": ({"action": "course.create"},),
            "admin.users": ({"role": "trainer"},)}


def test_every_audit_action_and_job_has_a_name(app):
    """A new action or job without a name would show its code (or "other change") on the admin pages."""
    from pathlib import Path

    from lms.admin.labels import ACTION_LABELS, TASK_LABELS
    from lms.queue import huey

    root = Path(__file__).resolve().parents[2]
    recorded = set()
    for folder in ("lms", "courses", "media", "search"):
        for path in (root / folder).rglob("*.py"):
            recorded |= set(re.findall(r"record\([^,()]+, *\"([a-z_]+\.[a-z_.]+)\"", path.read_text(encoding="utf-8")))
    assert {"course.create", "skills.award"} <= recorded
    assert recorded - set(ACTION_LABELS) == set()
    ours = {name for name in huey._registry._registry if not name.startswith("tests.")}
    assert ours - set(TASK_LABELS) == set()


def test_audit_details_read_as_named_lines(client, login, make_user, regions):
    admin = make_user("admin")
    login(client, admin)
    client.post_form("/admin/users", {"username": "laoshi", "display_name": "王老师", "role": "trainer",
                                      "region_code": "621123000000", "password": "pass-word-42"})
    page = client.get("/admin/audit", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "创建账号" in page and "角色：培训老师" in page and "地区：渭源县" in page
    assert "\\u" not in page and "{&#34;" not in page and "user.create" not in visible_text(page)
    english = client.get("/admin/audit", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Account created" in english and "Role: Trainer" in english and "Region: 渭源县" in english
