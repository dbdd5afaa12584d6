"""The follow-up part of bench/dashboard.py (``--assignments N``): N training assignments and a tenth
as many deferrals (暂缓) loaded in bulk among the province's laborers without a skill, and the time
for an award to close an assigned laborer's case and show in the province figures. Kept apart from
the bench itself so each file stays readable."""
from __future__ import annotations

import datetime as dt
import random
import re
import statistics
import time

# Courses a laborer may be assigned (one assignment per laborer and course).
COURSES = 8


def load_assignments(app, loader_class, count: int, seed: int) -> dict:
    """``count`` assignments to laborers without an award (several courses when the province has
    fewer such laborers than ``count``), due dates from 60 days ago to 120 days ahead (about a third
    overdue), and ``count // 10`` deferrals, written in batches straight into the tables."""
    from courses.models import Course, Lesson, LessonKind, Programme, Skill
    from lms.extensions import db
    from lms.followup.status import today

    rng = random.Random(seed)
    started = time.time()
    with app.app_context():
        programme = db.session.scalar(db.select(Programme).order_by(Programme.id))
        if programme is None:
            programme = Programme(code="bench", name="测评项目", description="", active=True)
            db.session.add(programme)
            db.session.flush()
        skills = list(db.session.scalars(db.select(Skill.id).order_by(Skill.id).limit(COURSES)))
        course_ids = []
        for n, skill_id in enumerate(skills):
            course = Course(title=f"测评课程{n}", summary="", programme_id=programme.id, skill_id=skill_id,
                            published=True)
            db.session.add(course)
            db.session.flush()
            db.session.add(Lesson(course_id=course.id, position=1, title="第1课", kind=LessonKind.text, body="正文"))
            course_ids.append(course.id)
        db.session.commit()
        people = db.session.execute(db.text(
            "SELECT m.id, h.village_code FROM members m JOIN households h ON h.id = m.household_id "
            "WHERE m.labour_skill IN ('1','3') AND m.student_status IS NULL AND m.removed_at IS NULL "
            "AND m.birth_ymd BETWEEN 19700101 AND 20040101 "
            "AND NOT EXISTS (SELECT 1 FROM skill_awards a WHERE a.member_id = m.id) ORDER BY m.id")).all()
        db.session.rollback()
        loader = loader_class(db.engine)
        now = dt.datetime.now(dt.timezone.utc)
        now = now if loader.pg else now.replace(tzinfo=None)
        day = today()
        cols = ("member_id", "village_code", "course_id", "due_on", "note", "created_at")
        rows, made = [], 0
        for course_id in course_ids:
            for member_id, village in people:
                if made >= count:
                    break
                rows.append((member_id, village, course_id, day + dt.timedelta(days=rng.randint(-60, 120)), "", now))
                made += 1
                if len(rows) >= 20_000:
                    loader.insert("followup_assignments", cols, rows)
                    loader.commit()
                    rows = []
        loader.insert("followup_assignments", cols, rows)
        deferred = [(member_id, village, rng.choice(("working_away", "illness", "frail")), "",
                     day + dt.timedelta(days=rng.randint(1, 180)), now)
                    for member_id, village in rng.sample(people, min(len(people), count // 10))]
        loader.insert("followup_deferrals", ("member_id", "village_code", "reason", "reason_text", "review_on",
                                             "created_at"), deferred)
        loader.close()
        # The roll-ups are rebuilt next: their day is today.
        from lms.followup.models import RollupDay

        db.session.merge(RollupDay(name="rollups", day=day))
        db.session.commit()
    return {"assignments": made, "deferrals": len(deferred), "laborers_without_award": len(people),
            "courses": len(course_ids), "load_seconds": round(time.time() - started, 1)}


def _province_case_figures(client, province: str) -> dict:
    data = client.get(f"/api/v1/stats/skills?region={province}").get_json()
    return {k: data[k] for k in ("assigned", "overdue", "deferred", "with_1")}


def award_closes_case(app, client, province: str, count: int) -> dict:
    """``count`` assigned laborers (not deferred, no award) each passed on their own through the
    assessment form of an offline class (one request, one transaction each); after each, the province
    API is read until it shows one assigned case fewer. Reports the time from the sign-off request to
    the province figure, p50/p95."""
    from lms.accounts.models import User
    from lms.extensions import db
    from lms.households.services import cipher
    from lms.skills import services
    from lms.skills.models import Trainee

    with app.app_context():
        admin = db.session.scalar(db.select(User).where(User.username == "benchadmin"))
        rows = db.session.execute(db.text(
            "SELECT DISTINCT m.id, m.id_enc FROM followup_assignments fa JOIN members m ON m.id = fa.member_id "
            "WHERE NOT EXISTS (SELECT 1 FROM followup_deferrals d WHERE d.member_id = m.id) "
            "AND NOT EXISTS (SELECT 1 FROM skill_awards a WHERE a.member_id = m.id) ORDER BY m.id LIMIT :n"),
            {"n": 2 * count}).all()
        numbers = [n for n in (cipher().decrypt(enc) for _id, enc in rows) if len(n) == 18][:count]
        if not numbers:
            raise RuntimeError("no assigned laborer is without a skill and not deferred: --assignments is "
                               "too large for --households (every case open is deferred)")
        skill_id = db.session.scalar(db.text("SELECT max(skill_id) FROM skill_awards"))
        klass = services.create_class(title="测评结案班", skill_id=skill_id, region_code=province,
                                      starts_on=dt.date(2026, 10, 1), ends_on=dt.date(2026, 11, 1), trainer=admin)
        services.add_trainees(klass, numbers, admin)
        db.session.commit()
        class_id = klass.id
        trainees = list(db.session.scalars(db.select(Trainee.id).where(Trainee.class_id == class_id)))
    page = client.get(f"/skills/classes/{class_id}").get_data(as_text=True)
    token = (re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
             or re.search(r'name="csrf-token" content="([^"]+)"', page)).group(1)
    before = _province_case_figures(client, province)
    each, first_view = [], []
    for trainee_id in trainees:
        expected = _province_case_figures(client, province)["assigned"] - 1
        t = time.perf_counter()
        response = client.post(f"/skills/classes/{class_id}/trainees/{trainee_id}/assess",
                               data={"result": "pass", "csrf_token": token})
        if response.status_code != 302:
            raise RuntimeError(f"sign-off answered {response.status_code}")
        while _province_case_figures(client, province)["assigned"] != expected:
            if time.perf_counter() - t > 60:
                raise RuntimeError("the province figures did not show the closed case within 60 s")
        each.append((time.perf_counter() - t) * 1000)
        # The province's dashboard page, first view after the change: its figures and the weekly
        # overdue summary (the summary once scanned the week's assignments on this view).
        t = time.perf_counter()
        if client.get(f"/stats/skills?region={province}").status_code != 200:
            raise RuntimeError("the province page failed")
        first_view.append((time.perf_counter() - t) * 1000)
    after = _province_case_figures(client, province)
    return {"awards": len(each), "until_province_shows_p50_ms": round(statistics.median(each), 1),
            "until_province_shows_p95_ms": _p95(each),
            "province_page_first_view_after_change_p50_ms": round(statistics.median(first_view), 1),
            "province_page_first_view_after_change_p95_ms": _p95(first_view),
            "province_before": before, "province_after": after}


def _p95(values: list[float]) -> float:
    return round(sorted(values)[max(0, int(round(0.95 * (len(values) - 1))))], 1)


def weekly_summary(app, province: str, count: int) -> dict:
    """The weekly overdue summary alone (``lms.followup.queries.weekly_overdue``) for the province,
    each call right after a change that moves the province's roll-up (an assignment withdrawn and
    made again), with the number of statements it runs."""
    from sqlalchemy import event

    from lms.extensions import db
    from lms.followup.models import Assignment
    from lms.followup.queries import weekly_overdue
    from lms.followup.services import assign, cancel
    from lms.followup.status import today
    from lms.regions.models import Region

    times, statements = [], []
    with app.app_context(), app.test_request_context():
        region = db.session.get(Region, province)
        for _ in range(count):
            assignment = db.session.scalar(db.select(Assignment).order_by(Assignment.id.desc()).limit(1))
            member, course, due = assignment.member_id, assignment.course_id, assignment.due_on
            cancel(None, assignment)
            assign(None, [member], course_id=course, due_on=max(due, today() + dt.timedelta(days=1)))
            db.session.commit()
            region = db.session.get(Region, province)
            seen: list[str] = []
            listener = lambda *a: seen.append(a[2])  # noqa: E731  (conn, cursor, statement, …)
            event.listen(db.engine, "before_cursor_execute", listener)
            t = time.perf_counter()
            summary = weekly_overdue(region)
            times.append((time.perf_counter() - t) * 1000)
            event.remove(db.engine, "before_cursor_execute", listener)
            statements.append(len(seen))
    return {"calls": count, "p50_ms": round(statistics.median(times), 1), "p95_ms": _p95(times),
            "statements": max(statements), "total": summary["total"]}


def export_times(client, region: str, count: int) -> dict:
    """The open-cases XLSX of ``region`` downloaded ``count`` times: time to the first byte (the
    export streams) and to the last, and its size."""
    first, whole, size = [], [], 0
    for _ in range(count):
        t = time.perf_counter()
        response = client.get(f"/followup/cases.xlsx?region={region}", buffered=False)
        if response.status_code != 200:
            raise RuntimeError(f"the export answered {response.status_code}")
        chunks = response.iter_encoded()
        size = len(next(chunks))
        first.append((time.perf_counter() - t) * 1000)
        size += sum(len(c) for c in chunks)
        response.close()
        whole.append(time.perf_counter() - t)
    return {"downloads": count, "first_byte_p50_ms": round(statistics.median(first), 1),
            "seconds_p50": round(statistics.median(whole), 2), "seconds_max": round(max(whole), 2), "bytes": size}
