"""Reads of the follow-up: a village's working list, the learner's assignments, a household's, the
weekly summary and the export rows. Callers scope: views pass regions they checked with
``lms.regions.scope``; every list below is confined to a village, a member or a scoped prefix."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, literal, or_, select, text
from sqlalchemy.orm import aliased

from lms.extensions import db
from lms.followup.models import Assignment, Deferral
from lms.followup.status import Status, status_columns, status_of, today

SHOW = ("all", "unassigned", "assigned", "overdue")


def threshold() -> int:
    from lms.stats.queries import goal

    return goal().threshold


def skill_counts(member_ids) -> dict[int, int]:
    from lms.skills.models import SkillAward

    ids = list(member_ids)
    if not ids:
        return {}
    return dict(db.session.execute(
        select(SkillAward.member_id, func.count(func.distinct(SkillAward.skill_id)))
        .where(SkillAward.member_id.in_(ids), SkillAward.revoked_at.is_(None)).group_by(SkillAward.member_id)).all())


def assignment_rows(condition, day: dt.date | None = None) -> list[dict]:
    """Assignments matching ``condition`` with their computed status, measure and owner. Plain columns,
    no ORM objects, and each status label translated once: a county's export has tens of thousands."""
    from courses.models import Course
    from lms.accounts.models import User
    from lms.skills.models import OfflineClass

    day = day or today()
    rows = db.session.execute(
        select(Assignment.id, Assignment.member_id, Assignment.course_id, Assignment.offline_class_id,
               Assignment.due_on, Assignment.note, Assignment.village_code, *status_columns(), Course.title,
               OfflineClass.title, OfflineClass.place, OfflineClass.starts_on, OfflineClass.ends_on,
               User.display_name, User.username)
        .outerjoin(Course, Course.id == Assignment.course_id)
        .outerjoin(OfflineClass, OfflineClass.id == Assignment.offline_class_id)
        .outerjoin(User, User.id == Assignment.assigned_by_id)
        .where(condition).order_by(Assignment.due_on, Assignment.id)).all()
    counts = skill_counts({r[1] for r in rows})
    k = threshold()
    labels = {status: status.label for status in Status}
    out = []
    for (aid, member_id, course_id, class_id, due_on, note, village, done, held, started, course_title, class_title,
         place, starts_on, ends_on, owner_name, owner_user) in rows:
        status = status_of(due_on, done, held, started, counts.get(member_id, 0) >= k, day)
        out.append({"id": aid, "member_id": member_id, "course_id": course_id, "class_id": class_id,
                    "measure": course_title or class_title or "", "is_class": class_id is not None,
                    "place": place or "", "starts_on": starts_on, "ends_on": ends_on, "due_on": due_on,
                    "note": note, "status": status, "status_label": labels[status],
                    "owner": owner_name or owner_user or "", "village_code": village})
    return out


def _open_laborers(region_condition):
    """SELECT (Member, household number, year) of laborers below the goal threshold."""
    from lms.households.models import Household, Member
    from lms.households.queries import laborer_condition
    from lms.skills.models import SkillAward

    held = (select(func.count(func.distinct(SkillAward.skill_id)))
            .where(SkillAward.member_id == Member.id, SkillAward.revoked_at.is_(None)).scalar_subquery())
    return (select(Member, Household.household_no, Household.year, Household.village_code)
            .join(Household, Member.household_id == Household.id)
            .where(region_condition, laborer_condition(), held < threshold()))


def active_deferrals(member_ids, day: dt.date | None = None) -> dict[int, Deferral]:
    ids = list(member_ids)
    if not ids:
        return {}
    return {d.member_id: d for d in db.session.scalars(select(Deferral).where(
        Deferral.member_id.in_(ids), Deferral.review_on >= (day or today())))}


def village_cases(village_code: str, show: str = "all") -> dict:
    """The village's working list: open cases (laborers below the goal) with their assignments, and
    the deferred (暂缓) apart. ``show`` filters the open group."""
    from lms.households.models import Household
    from lms.households.queries import LaborerRule

    day = today()
    rule = LaborerRule.current()
    members = db.session.execute(_open_laborers(Household.village_code == village_code)
                                 .order_by(Household.household_no)).all()
    ids = [m.id for m, *_rest in members]
    by_member: dict[int, list[dict]] = {}
    if ids:
        for row in assignment_rows(Assignment.member_id.in_(ids), day):
            by_member.setdefault(row["member_id"], []).append(row)
    deferrals = active_deferrals(ids, day)
    open_rows, deferred_rows = [], []
    for member, household_no, year, _village in members:
        items = by_member.get(member.id, [])
        row = {"member_id": member.id, "household_no": household_no, "name": member.name,
               "age": member.age_on(dt.date(year, *rule.as_of)), "assignments": items,
               "overdue": any(i["status"] is Status.overdue for i in items), "deferral": deferrals.get(member.id)}
        if row["deferral"] is not None:
            deferred_rows.append(row)
        elif (show == "all" or (show == "unassigned" and not items) or (show == "assigned" and items)
              or (show == "overdue" and row["overdue"])):
            open_rows.append(row)
    return {"open": open_rows, "deferred": deferred_rows}


def member_assignments(member_id: int) -> list[dict]:
    return assignment_rows(Assignment.member_id == member_id)


def household_followup(household) -> dict:
    """Assignments and deferrals of a household's members, for its page."""
    ids = [m.id for m in household.members]
    rows = assignment_rows(Assignment.member_id.in_(ids)) if ids else []
    return {"assignments": rows, "deferrals": active_deferrals(ids)}


def course_progress(user_id: int, course_ids) -> dict[int, float]:
    """Share of the required lessons complete (1.0 once the course is complete)."""
    from courses.models import Enrolment, Lesson
    from lms.learning.models import Progress

    ids = list(course_ids)
    if not ids:
        return {}
    total = dict(db.session.execute(select(Lesson.course_id, func.count()).where(
        Lesson.course_id.in_(ids), Lesson.required.is_(True)).group_by(Lesson.course_id)).all())
    done = dict(db.session.execute(
        select(Lesson.course_id, func.count()).join(Progress, Progress.lesson_id == Lesson.id)
        .where(Lesson.course_id.in_(ids), Lesson.required.is_(True), Progress.user_id == user_id,
               Progress.completed_at.is_not(None)).group_by(Lesson.course_id)).all())
    complete = set(db.session.scalars(select(Enrolment.course_id).where(
        Enrolment.user_id == user_id, Enrolment.course_id.in_(ids), Enrolment.completed_at.is_not(None))))
    return {c: 1.0 if c in complete else (done.get(c, 0) / total[c] if total.get(c) else 0.0) for c in ids}


def learner_assignments(user) -> list[dict]:
    """What was arranged for a learner linked to the registry, overdue first; nothing otherwise."""
    member_id = getattr(user, "member_id", None)
    if not member_id:
        return []
    rows = member_assignments(member_id)
    progress = course_progress(user.id, [r["course_id"] for r in rows if r["course_id"]])
    order = {Status.overdue: 0, Status.in_progress: 1, Status.not_started: 2, Status.completed: 3,
             Status.skill_obtained: 4}
    for row in rows:
        row["progress"] = progress.get(row["course_id"], 0.0) if row["course_id"] else None
    rows.sort(key=lambda r: (order[r["status"]], r["due_on"]))
    return rows


def weekly_overdue(region, limit: int = 20) -> dict:
    """Assignments of open cases under ``region`` that became overdue in the last 7 days (due in
    [day−7, day−1]) and still are: their number and the villages with most of them. Open as the
    roll-ups count them: a laborer below the goal threshold, not deferred.

    Read from the roll-ups, in one statement of at most ``limit`` + 1 rows: every path that moves
    the case figures keeps this one too (``lms.stats.rollups.WEEK``, counted by
    ``lms.followup.status.case_states``), the worker's daily job (``services.advance_day``) moves
    it as assignments enter and leave the 7 days, and ``flask stats verify`` checks it. Before, a
    province's first view after any change scanned the week's assignments (~0.8 s at 300,000)."""
    from sqlalchemy import case

    from lms.regions.models import Region
    from lms.stats.models import SkillRollupBreakdown as B
    from lms.stats.rollups import WEEK

    day = today()
    count = B.laborers if threshold() == 1 else B.with_1
    own = B.region_code == region.code
    rows = db.session.execute(
        select(B.region_code, Region.name, count).join(Region, Region.code == B.region_code)
        .where(_under(B.region_code, region.prefix), B.dimension == WEEK[0], B.value == WEEK[1], count > 0,
               or_(own, Region.level == 5))
        .order_by(case((own, 0), else_=1), count.desc(), B.region_code).limit(limit + 1)).all()
    total = rows[0][2] if rows and rows[0][0] == region.code else 0
    villages = [{"code": c, "name": name, "count": n} for c, name, n in rows if c != region.code or region.level == 5]
    return {"total": total, "since": day - dt.timedelta(days=7), "villages": villages[:limit]}


def _under(column, prefix: str):
    """``column`` (a region code) under ``prefix``, as a range the code's index can answer (a LIKE
    cannot use SQLite's index). Codes are digits, so the range ends before the next digit."""
    if not prefix:
        return literal(True)
    return and_(column >= prefix, column < prefix[:-1] + chr(ord(prefix[-1]) + 1))


def _text_order(column):
    """Order by code point, as Python's sort does, whatever the database's collation: the two
    sorted streams of ``export_rows`` are merged in Python."""
    return column.collate("C") if db.engine.dialect.name == "postgresql" else column


EXPORT_BATCH = 2000


def export_rows(prefix: str, connection=None):
    """Every open case under ``prefix``, as an iterator of rows (dicts of the export's columns) in
    the registry's order — village code, household number, name: one row per assignment not
    answered by its skill, and one per deferred laborer. Two statements, each read in batches
    (``yield_per``) with its status computed in SQL, merged in order — no per-row query, nothing
    held for the whole region, so a province's export starts at once and stays flat in memory.
    The village names and the statements are read and built, the labels translated, on the call;
    the rows are read as the iterator is, through ``connection`` (one the caller closes, for a
    stream that outlives the request's session) or the session.

    Scoped as the village page is: an assignment made in the region (its ``village_code``, the
    index's range) to a laborer who still lives there (the household's current village). Which
    cases are open (skill count below the goal, not deferred) is decided on each row in Python from
    columns of the statement: as filters, PostgreSQL misjudged how many rows they keep and chose
    nested loops that compare every row with every deferral."""
    import heapq

    from flask_babel import gettext as _
    from sqlalchemy import case

    from courses.models import Course
    from lms.accounts.models import User
    from lms.followup.status import completed_condition, skill_held_condition, started_condition
    from lms.households.models import Household, Member
    from lms.households.queries import laborer_condition
    from lms.regions.models import Region
    from lms.skills.models import OfflineClass, SkillAward

    day, k = today(), threshold()
    held = (select(func.count(func.distinct(SkillAward.skill_id)))
            .where(SkillAward.member_id == Member.id, SkillAward.revoked_at.is_(None)).scalar_subquery())
    where = and_(_under(Household.village_code, prefix), laborer_condition())
    order = (_text_order(Household.village_code), _text_order(Household.household_no), _text_order(Member.name))
    # The status as the village page computes it (lms.followup.status), first match wins: 'held'
    # (the measure's skill: not an open case's row) before the rest.
    status = case((skill_held_condition(), literal("held")), (completed_condition(), literal("completed")),
                  (Assignment.due_on < day, literal("overdue")), (started_condition(), literal("in_progress")),
                  else_=literal("not_started"))
    deferral = aliased(Deferral)
    assigned = (select(Household.village_code, Household.household_no, Member.name,
                       func.coalesce(Course.title, OfflineClass.title), func.coalesce(User.display_name, User.username),
                       Assignment.due_on, Assignment.note, held.label("held"), deferral.member_id, status)
                .select_from(Assignment).join(Member, Member.id == Assignment.member_id)
                .join(Household, Household.id == Member.household_id)
                .outerjoin(Course, Course.id == Assignment.course_id)
                .outerjoin(OfflineClass, OfflineClass.id == Assignment.offline_class_id)
                .outerjoin(User, User.id == Assignment.assigned_by_id)
                .outerjoin(deferral, and_(deferral.member_id == Member.id, deferral.review_on >= day))
                .where(_under(Assignment.village_code, prefix), where)
                .order_by(*order, Assignment.due_on, Assignment.id))
    deferred = (select(Household.village_code, Household.household_no, Member.name, Deferral.reason,
                       Deferral.reason_text, Deferral.review_on, held.label("held"))
                .select_from(Deferral).join(Member, Member.id == Deferral.member_id)
                .join(Household, Household.id == Member.household_id)
                .where(_under(Deferral.village_code, prefix), Deferral.review_on >= day, where)
                .order_by(*order, Deferral.member_id))
    names = dict(db.session.execute(select(Region.code, Region.name).where(
        _under(Region.code, prefix), Region.level == 5)).all())
    labels = {status.value: status.label for status in Status}
    deferred_label = _("Deferred (暂缓)")
    reader = connection if connection is not None else db.session

    def assignment_rows():
        for village, no, name, measure, owner, due_on, note, skills, deferred_id, code in reader.execute(
                assigned.execution_options(yield_per=EXPORT_BATCH)):
            if skills >= k or deferred_id is not None or code == "held":
                continue
            yield (village, no, name), {
                "village": names.get(village, village), "household_no": no, "name": name, "measure": measure or "",
                "owner": owner or "", "due_on": due_on.isoformat(), "status": labels[code], "review_on": "",
                "note": note}

    def deferral_rows():
        for village, no, name, reason, reason_text, review_on, skills in reader.execute(
                deferred.execution_options(yield_per=EXPORT_BATCH)):
            if skills >= k:
                continue
            why = reason.label + (f"：{reason_text}" if reason_text else "")
            yield (village, no, name), {
                "village": names.get(village, village), "household_no": no, "name": name, "measure": "",
                "owner": "", "due_on": "", "status": f"{deferred_label} · {why}", "review_on": review_on.isoformat(),
                "note": ""}

    postgresql = db.engine.dialect.name == "postgresql"

    def rows():
        if postgresql:
            # yield_per reads through a server-side cursor, which PostgreSQL plans for its first
            # tenth of rows (nested loops); the export reads them all. For this transaction only.
            reader.execute(text("SET LOCAL cursor_tuple_fraction = 1"))
        for _key, row in heapq.merge(assignment_rows(), deferral_rows(), key=lambda pair: pair[0]):
            yield row

    return rows()


def measures_for(village_code: str) -> tuple[list, list]:
    """(courses, classes) that may be assigned to laborers of the village."""
    from courses.models import Course
    from courses.queries import open_condition
    from lms.regions.models import Region
    from lms.skills.models import OfflineClass

    courses = list(db.session.scalars(select(Course).where(open_condition(village_code)).order_by(Course.title)))
    prefixes = [village_code[:n] for n in (2, 4, 6, 9, 12)]
    regions = {r.code: r.prefix for r in db.session.scalars(select(Region).where(
        Region.code.in_([p.ljust(12, "0") for p in prefixes])))}
    classes = [c for c in db.session.scalars(select(OfflineClass).where(
        OfflineClass.region_code.in_(list(regions)), OfflineClass.ends_on >= today()).order_by(OfflineClass.starts_on))
               if village_code.startswith(regions[c.region_code])]
    return courses, classes


def campaign_members(village_code: str) -> list[int]:
    """Laborers of the village below the goal threshold and not deferred: a campaign's list."""
    from lms.households.models import Household, Member

    ids = [m.id for m, *_rest in db.session.execute(
        _open_laborers(Household.village_code == village_code).order_by(Member.id))]
    deferred = set(active_deferrals(ids))
    return [i for i in ids if i not in deferred]
