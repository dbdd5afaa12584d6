"""Reads for the skill-goal dashboard, its JSON, exports and the follow-up list."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, select

from lms.extensions import db
from lms.regions.models import Region
from lms.settings import get_setting
from lms.stats.models import COUNTS, SkillRollup, SkillRollupBreakdown, SkillRollupMonth

# Labels of the breakdown values: the national labels (DOMAIN.md §1), as officials know them.
NO_SKILLS_CAUSE = "07"  # 缺技术: the cause the skill goal answers, highlighted on the dashboard


@dataclass(frozen=True)
class Goal:
    unit: str  # "laborer" or "household"
    threshold: int  # 1 or 2


def goal() -> Goal:
    unit = str(get_setting("stats.goal_unit"))
    threshold = int(get_setting("stats.goal_threshold"))
    return Goal(unit if unit in ("laborer", "household") else "laborer", 2 if threshold == 2 else 1)


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def row_figures(region: Region, rollup: SkillRollup | None) -> dict:
    """The API's fields for one region, plus the household and non-registry figures the page shows."""
    get = (lambda k: getattr(rollup, k) or 0) if rollup is not None else (lambda k: 0)
    laborers, w1, w2 = get("laborers"), get("with_1"), get("with_2")
    households, h1, h2 = get("households"), get("households_1"), get("households_2")
    k = goal().threshold
    return {
        "region": region.code, "name": region.name, "level": region.level,
        "laborers": laborers, "with_1": w1, "with_2": w2,
        "coverage_1": _ratio(w1, laborers), "coverage_2": _ratio(w2, laborers),
        "households_without_skill": households - h1,
        "households": households, "households_1": h1, "households_2": h2,
        "household_coverage_1": _ratio(h1, households), "household_coverage_2": _ratio(h2, households),
        "nonreg_learners": get("nonreg_learners"), "nonreg_1": get("nonreg_1"), "nonreg_2": get("nonreg_2"),
        # The follow-up of laborers below the goal threshold; 暂缓 stays in the laborers above.
        "without_skill": laborers - (w1 if k == 1 else w2), "assigned": get(f"assigned_{k}"),
        "overdue": get(f"overdue_{k}"), "deferred": get(f"deferred_{k}"),
    }


API_FIELDS = ("region", "name", "level", "laborers", "with_1", "with_2", "coverage_1", "coverage_2",
              "households_without_skill", "assigned", "overdue", "deferred")


def region_table(region: Region) -> tuple[dict, list[dict]]:
    """(the region's figures, each child region's figures) from the roll-ups."""
    children = list(db.session.scalars(select(Region).where(Region.parent_code == region.code)
                                       .order_by(Region.code)))
    codes = [region.code] + [c.code for c in children]
    rollups = {r.region_code: r for r in db.session.scalars(
        select(SkillRollup).where(SkillRollup.region_code.in_(codes)))}
    return (row_figures(region, rollups.get(region.code)),
            [row_figures(c, rollups.get(c.code)) for c in children])


def api_payload(region: Region) -> dict:
    """The exact JSON of ``GET /api/v1/stats/skills``."""
    own, children = region_table(region)
    payload = {k: own[k] for k in API_FIELDS}
    payload["children"] = [{k: c[k] for k in API_FIELDS} for c in children]
    return payload


def breakdowns(region: Region) -> dict[str, list[dict]]:
    """Per dimension, one row per value: counts and coverage, in the national code order."""
    from lms.households import categories as cat

    enums = {"type": cat.HouseholdType, "status": cat.PovertyStatus, "cause": cat.Cause}
    rows = db.session.scalars(select(SkillRollupBreakdown).where(SkillRollupBreakdown.region_code == region.code))
    by_dim: dict[str, dict[str, SkillRollupBreakdown]] = {d: {} for d in enums}
    for row in rows:
        by_dim.setdefault(row.dimension, {})[row.value] = row
    out = {}
    for dim, enum in enums.items():
        items = []
        values = [m.value for m in enum] + ([""] if "" in by_dim[dim] else [])
        for value in values:
            row = by_dim[dim].get(value)
            counts = {k: (getattr(row, k) if row else 0) for k in COUNTS}
            if not counts["laborers"] and not counts["households"]:
                continue
            label = enum(value).label if value else None
            items.append({"value": value, "label": label, **counts,
                          "coverage_1": _ratio(counts["with_1"], counts["laborers"]),
                          "coverage_2": _ratio(counts["with_2"], counts["laborers"]),
                          "households_without_skill": counts["households"] - counts["households_1"],
                          "highlight": dim == "cause" and value == NO_SKILLS_CAUSE})
        out[dim] = items
    return out


def trend(region: Region, figures: dict, months: int = 24) -> list[dict]:
    """Month-end coverage (≥1, ≥2) of today's laborers and households over the last ``months``."""
    rows = {r.month: r for r in db.session.scalars(
        select(SkillRollupMonth).where(SkillRollupMonth.region_code == region.code))}
    today = dt.date.today()
    keys = []
    y, m = today.year, today.month
    for _ in range(months):
        keys.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    keys.reverse()
    first = keys[0]
    running = [0, 0, 0, 0]
    for month, row in rows.items():
        if month < first:
            running[0] += row.reached_1
            running[1] += row.reached_2
            running[2] += row.households_1
            running[3] += row.households_2
    out = []
    for key in keys:
        row = rows.get(key)
        if row is not None:
            running[0] += row.reached_1
            running[1] += row.reached_2
            running[2] += row.households_1
            running[3] += row.households_2
        out.append({"month": key, "with_1": running[0], "with_2": running[1],
                    "coverage_1": _ratio(running[0], figures["laborers"]),
                    "coverage_2": _ratio(running[1], figures["laborers"]),
                    "household_coverage_1": _ratio(running[2], figures["households"]),
                    "household_coverage_2": _ratio(running[3], figures["households"])})
    return out


FOLLOWUP_SORTS = ("household", "name", "age", "progress")


def followup(village: Region, sort: str = "household") -> list[dict]:
    """Laborers of a village without any skill: who to follow up with (跟踪销号)."""
    from courses.models import Course, Enrolment, Lesson
    from lms.accounts.models import User
    from lms.crypto import mask_phone
    from lms.households.models import Household, Member
    from lms.households.queries import LaborerRule, laborer_condition
    from lms.learning.models import Progress
    from lms.skills.models import SkillAward

    rule = LaborerRule.current()
    has_skill = exists(select(SkillAward.id).where(SkillAward.member_id == Member.id,
                                                   SkillAward.revoked_at.is_(None)))
    rows = db.session.execute(
        select(Member, Household.household_no, Household.year, Household.phone)
        .join(Household, Member.household_id == Household.id)
        .where(Household.village_code == village.code, laborer_condition(rule), ~has_skill)).all()
    users = {}
    if rows:
        users = dict(db.session.execute(select(User.member_id, User.id).where(
            User.member_id.in_([r[0].id for r in rows]))).all())
    courses: dict[int, list[dict]] = {}
    if users:
        user_ids = list(users.values())
        required = (select(Lesson.course_id, func.count().label("n")).where(Lesson.required.is_(True))
                    .group_by(Lesson.course_id).subquery())
        done = (select(Progress.user_id, Lesson.course_id, func.count().label("n"))
                .join(Lesson, Lesson.id == Progress.lesson_id)
                .where(Progress.user_id.in_(user_ids), Progress.completed_at.is_not(None),
                       Lesson.required.is_(True)).group_by(Progress.user_id, Lesson.course_id).subquery())
        for user_id, title, completed_at, total, finished in db.session.execute(
                select(Enrolment.user_id, Course.title, Enrolment.completed_at, required.c.n, done.c.n)
                .join(Course, Course.id == Enrolment.course_id)
                .outerjoin(required, required.c.course_id == Enrolment.course_id)
                .outerjoin(done, and_(done.c.user_id == Enrolment.user_id, done.c.course_id == Enrolment.course_id))
                .where(Enrolment.user_id.in_(user_ids)).order_by(Course.title)):
            progress = 1.0 if completed_at else _ratio(finished or 0, total or 0)
            courses.setdefault(user_id, []).append({"title": title, "progress": progress})
    out = []
    for member, household_no, year, household_phone in rows:
        as_of = dt.date(year, *rule.as_of)
        enrolled = courses.get(users.get(member.id), [])
        out.append({
            "member_id": member.id, "household_no": household_no, "name": member.name,
            "relation": member.relation.label, "age": member.age_on(as_of), "sex": member.sex.label,
            "labour_skill": member.labour_skill.label,
            "phone": mask_phone(member.phone or household_phone or ""),
            "courses": enrolled,
            "progress": max((c["progress"] for c in enrolled), default=0.0),
        })
    keys = {"household": lambda r: (r["household_no"], r["name"]), "name": lambda r: (r["name"], r["household_no"]),
            "age": lambda r: (r["age"], r["household_no"]), "progress": lambda r: (-r["progress"], r["household_no"])}
    out.sort(key=keys.get(sort, keys["household"]))
    return out


def course_stats(prefix: str, month: str | None = None) -> list[dict]:
    """Per course: enrolments, completions, completion rate and watched time of learners in the region
    (their village code starts with ``prefix``), optionally only enrolments of one month ('YYYY-MM')."""
    from courses.models import Course, Enrolment, Lesson, Programme
    from lms.accounts.models import User
    from lms.learning.models import Progress

    in_region = User.region_code.startswith(prefix, autoescape=True) if prefix else User.id.is_not(None)
    stmt = (select(Course.id, Course.title, Programme.name, func.count(Enrolment.id),
                   func.count(Enrolment.completed_at))
            .join(Enrolment, Enrolment.course_id == Course.id).join(User, User.id == Enrolment.user_id)
            .join(Programme, Programme.id == Course.programme_id)
            .where(in_region).group_by(Course.id, Course.title, Programme.name).order_by(Programme.name, Course.title))
    watched_stmt = (select(Lesson.course_id, func.coalesce(func.sum(Progress.watched_seconds), 0))
                    .join(Progress, Progress.lesson_id == Lesson.id).join(User, User.id == Progress.user_id)
                    .where(in_region).group_by(Lesson.course_id))
    if month:
        start = dt.datetime.strptime(month + "-01", "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
        end = (start + dt.timedelta(days=32)).replace(day=1)
        stmt = stmt.where(Enrolment.created_at >= start, Enrolment.created_at < end)
        watched_stmt = watched_stmt.where(Progress.updated_at >= start, Progress.updated_at < end)
    watched = dict(db.session.execute(watched_stmt).all())
    out = []
    for course_id, title, programme, enrolments, completions in db.session.execute(stmt):
        out.append({"course_id": course_id, "title": title, "programme": programme, "enrolments": enrolments,
                    "completions": completions, "completion_rate": _ratio(completions, enrolments),
                    "watched_hours": round(float(watched.get(course_id, 0)) / 3600, 1)})
    return out


def _month_of(column):
    if db.engine.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def programme_stats(rows: list[dict]) -> list[dict]:
    """The course rows summed per programme."""
    out: dict[str, dict] = {}
    for row in rows:
        p = out.setdefault(row["programme"], {"programme": row["programme"], "courses": 0, "enrolments": 0,
                                              "completions": 0, "watched_hours": 0.0})
        p["courses"] += 1
        p["enrolments"] += row["enrolments"]
        p["completions"] += row["completions"]
        p["watched_hours"] = round(p["watched_hours"] + row["watched_hours"], 1)
    for p in out.values():
        p["completion_rate"] = _ratio(p["completions"], p["enrolments"])
    return list(out.values())


def course_months(prefix: str, months: int = 12) -> list[dict]:
    """Enrolments and completions per month (UTC months) of learners in the region, newest last."""
    from courses.models import Enrolment
    from lms.accounts.models import User

    in_region = User.region_code.startswith(prefix, autoescape=True) if prefix else User.id.is_not(None)
    today = dt.date.today()
    index = today.year * 12 + today.month - 1 - (months - 1)
    start = dt.date(index // 12, index % 12 + 1, 1)
    since = dt.datetime(start.year, start.month, 1, tzinfo=dt.timezone.utc)
    counts: dict[str, list[int]] = {}
    for index, column in ((0, Enrolment.created_at), (1, Enrolment.completed_at)):
        month = _month_of(column)
        for key, n in db.session.execute(
                select(month, func.count()).join(User, User.id == Enrolment.user_id)
                .where(in_region, column >= since).group_by(month)):
            counts.setdefault(key, [0, 0])[index] = n
    out = []
    y, m = start.year, start.month
    for _ in range(months):
        key = f"{y:04d}-{m:02d}"
        enrolments, completions = counts.get(key, [0, 0])
        out.append({"month": key, "enrolments": enrolments, "completions": completions})
        y, m = (y, m + 1) if m < 12 else (y + 1, 1)
    return out
