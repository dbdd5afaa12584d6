"""Computing the skill-goal figures from the registry, and keeping the roll-up tables current.

``compute_villages`` is the one from-scratch definition: the incremental path (``refresh_villages``,
after an award, a revocation or an import), the full ``rebuild`` and ``verify`` all use it, so the
roll-ups cannot drift from what a recount would say.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, type_coerce
from sqlalchemy.types import String

from lms.db import utcnow
from lms.extensions import db
from lms.stats.models import CASES, COUNTS, DirtyVillage, SkillRollup, SkillRollupBreakdown, SkillRollupMonth

DIMENSIONS = ("type", "status", "cause")
MONTH_COUNTS = ("reached_1", "reached_2", "households_1", "households_2")
NONREG = ("nonreg_learners", "nonreg_1", "nonreg_2")
TOTALS = COUNTS + NONREG + CASES
# Functions ``(condition on Household) -> {member_id: (state, week)}`` that an area above
# (lms.followup) registers from its init_app: the follow-up's state of each laborer ("assigned",
# "overdue" or "deferred") and how many of their assignments became overdue in the last 7 days,
# counted here with their skills so the case figures move with every award and revocation.
CASE_SOURCES: list = []
# The breakdown row (dimension, value) that holds the assignments of open cases that became overdue
# in the last 7 days: its ``laborers`` column at goal threshold 1, ``with_1`` at threshold 2 (the
# other columns stay 0). Kept by every path that keeps the case figures, so the officials' weekly
# summary reads a few rows (``lms.followup.queries.weekly_overdue``) and ``verify`` checks it.
WEEK = ("week", "")


def register_case_source(source) -> None:
    if source not in CASE_SOURCES:
        CASE_SOURCES.append(source)
# Villages recomputed per query in a rebuild: big enough to amortise, small enough for flat memory.
BATCH_VILLAGES = 200
LEVEL_DIGITS = {1: 2, 2: 4, 3: 6, 4: 9, 5: 12}


def ancestors(village: str) -> list[tuple[str, int]]:
    """(code, level) of the township, county, city and province above a 12-digit village code."""
    return [(village[:9] + "000", 4), (village[:6] + "0" * 6, 3), (village[:4] + "0" * 8, 2),
            (village[:2] + "0" * 10, 1)]


def level_of(code: str) -> int:
    for level in (1, 2, 3, 4):
        if code[LEVEL_DIGITS[level]:].strip("0") == "":
            return level
    return 5


@dataclass
class Figures:
    """The counts of one region (or of one village before they are summed up)."""

    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOTALS, 0))
    breakdowns: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    months: dict[str, list[int]] = field(default_factory=dict)

    def add(self, other: Figures, sign: int = 1) -> None:
        for k, v in other.totals.items():
            self.totals[k] += sign * v
        for key, values in other.breakdowns.items():
            mine = self.breakdowns.setdefault(key, [0] * len(COUNTS))
            for i, v in enumerate(values):
                mine[i] += sign * v
        for key, values in other.months.items():
            mine = self.months.setdefault(key, [0] * len(MONTH_COUNTS))
            for i, v in enumerate(values):
                mine[i] += sign * v

    def is_zero(self) -> bool:
        return not any(self.totals.values()) and not any(
            any(v) for v in self.breakdowns.values()) and not any(any(v) for v in self.months.values())

    def clean(self) -> Figures:
        """Without all-zero breakdown and month rows (for comparisons)."""
        return Figures(dict(self.totals), {k: v for k, v in self.breakdowns.items() if any(v)},
                       {k: v for k, v in self.months.items() if any(v)})


def compute_villages(codes: list[str], household_ids: list[int] | None = None) -> dict[str, Figures]:
    """Recount the given villages from the registry and the awards (the definition of the figures).
    With ``household_ids``, count only those households (keyed by their village; no learners
    outside the registry): every figure is a sum over households, so a change confined to some
    households moves the roll-ups by their difference alone."""
    from lms.accounts.models import Role, User
    from lms.households.models import Household, Member
    from lms.households.queries import laborer_condition
    from lms.skills.models import SkillAward

    result = defaultdict(Figures, {code: Figures() for code in codes})
    if household_ids is not None:
        if not household_ids:
            return result
        in_batch = Household.id.in_(household_ids)
    elif not codes:
        return result
    else:
        in_batch = Household.village_code.in_(codes)
    laborers = db.session.execute(
        select(Household.id, Household.village_code, type_coerce(Household.household_type, String),
               type_coerce(Household.poverty_status, String), type_coerce(Household.main_cause, String),
               Member.id)
        .select_from(Member).join(Household, Member.household_id == Household.id)
        .where(in_batch, laborer_condition())).all()
    firsts: dict[int, list] = defaultdict(list)
    for member_id, first in db.session.execute(
            select(SkillAward.member_id, func.min(SkillAward.awarded_on))
            .join(Member, Member.id == SkillAward.member_id).join(Household, Household.id == Member.household_id)
            .where(in_batch, SkillAward.revoked_at.is_(None))
            .group_by(SkillAward.member_id, SkillAward.skill_id)):
        firsts[member_id].append(str(first))
    states: dict[int, str] = {}
    for source in CASE_SOURCES:
        states.update(source(in_batch))
    households: dict[int, list] = {}
    for hid, village, htype, status, cause, member_id in laborers:
        dates = sorted(firsts.get(member_id, ()))
        n = len(dates)
        d1 = dates[0][:7] if n >= 1 else None
        d2 = dates[1][:7] if n >= 2 else None
        fig = result[village]
        h = households.get(hid)
        if h is None:
            h = households[hid] = [village, (htype or "", status or "", cause or ""), 0, 0, 0, None, None]
        h[2] += 1
        h[3] = max(h[3], n)
        if d1 and (h[5] is None or d1 < h[5]):
            h[5] = d1
        if d2 and (h[6] is None or d2 < h[6]):
            h[6] = d2
        fig.totals["laborers"] += 1
        fig.totals["with_1"] += n >= 1
        fig.totals["with_2"] += n >= 2
        state, week = states.get(member_id, (None, 0))
        if state:
            for k in (1, 2):
                if n < k:
                    fig.totals[f"{'assigned' if state == 'overdue' else state}_{k}"] += 1
                    fig.totals[f"overdue_{k}"] += state == "overdue"
                    if week and state == "overdue":
                        fig.breakdowns.setdefault(WEEK, [0] * len(COUNTS))[k - 1] += week
        for dim, value in zip(DIMENSIONS, h[1]):
            row = fig.breakdowns.setdefault((dim, value), [0] * len(COUNTS))
            row[0] += 1
            row[1] += n >= 1
            row[2] += n >= 2
        if d1:
            fig.months.setdefault(d1, [0, 0, 0, 0])[0] += 1
        if d2:
            fig.months.setdefault(d2, [0, 0, 0, 0])[1] += 1
    for village, attrs, _lab, best, _x, hd1, hd2 in households.values():
        fig = result[village]
        fig.totals["households"] += 1
        fig.totals["households_1"] += best >= 1
        fig.totals["households_2"] += best >= 2
        for dim, value in zip(DIMENSIONS, attrs):
            row = fig.breakdowns[(dim, value)]
            row[3] += 1
            row[4] += best >= 1
            row[5] += best >= 2
        if hd1:
            fig.months.setdefault(hd1, [0, 0, 0, 0])[2] += 1
        if hd2:
            fig.months.setdefault(hd2, [0, 0, 0, 0])[3] += 1
    if household_ids is not None:
        return result
    # Learners outside the registry: reported apart, never in the laborer figures.
    nonreg = (User.role == Role.learner) & User.member_id.is_(None) & User.region_code.in_(codes)
    for village, count in db.session.execute(
            select(User.region_code, func.count()).where(nonreg).group_by(User.region_code)):
        result[village].totals["nonreg_learners"] += count
    skills_per_user = (select(User.region_code.label("v"), func.count(func.distinct(SkillAward.skill_id)).label("n"))
                       .join(SkillAward, SkillAward.user_id == User.id)
                       .where(nonreg, SkillAward.member_id.is_(None), SkillAward.revoked_at.is_(None))
                       .group_by(User.id, User.region_code).subquery())
    for village, n in db.session.execute(select(skills_per_user.c.v, skills_per_user.c.n)):
        result[village].totals["nonreg_1"] += n >= 1
        result[village].totals["nonreg_2"] += n >= 2
    return result


def roll_up(villages: dict[str, Figures], min_level: int = 1) -> dict[str, Figures]:
    """Village figures plus their sums for every ancestor down from ``min_level``."""
    out: dict[str, Figures] = {}
    for code, fig in villages.items():
        out.setdefault(code, Figures()).add(fig)
        for anc, level in ancestors(code):
            if level >= min_level:
                out.setdefault(anc, Figures()).add(fig)
    return out


def load(codes: Iterable[str]) -> dict[str, Figures]:
    """The stored figures of the given regions (missing rows are zeros)."""
    codes = list(codes)
    out = {code: Figures() for code in codes}
    for i in range(0, len(codes), 500):
        chunk = codes[i:i + 500]
        for row in db.session.scalars(select(SkillRollup).where(SkillRollup.region_code.in_(chunk))):
            out[row.region_code].totals = {k: getattr(row, k) for k in TOTALS}
        for row in db.session.scalars(select(SkillRollupBreakdown).where(
                SkillRollupBreakdown.region_code.in_(chunk))):
            out[row.region_code].breakdowns[(row.dimension, row.value)] = [getattr(row, k) for k in COUNTS]
        for row in db.session.scalars(select(SkillRollupMonth).where(SkillRollupMonth.region_code.in_(chunk))):
            out[row.region_code].months[row.month] = [getattr(row, k) for k in MONTH_COUNTS]
    return out


def _insert(model):
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def _add_rows(model, keys: tuple[str, ...], counts: tuple[str, ...], rows: list[dict]) -> None:
    """Add ``rows``' counts to the stored rows (creating them when missing), in one statement."""
    if not rows:
        return
    stmt = _insert(model)
    table = model.__table__
    stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={c: table.c[c] + stmt.excluded[c] for c in counts})
    db.session.execute(stmt, rows)


def apply_delta(deltas: dict[str, Figures]) -> None:
    """Add per-region differences to the stored roll-ups. Regions in code order, so concurrent
    writers take row locks in the same order."""
    now = utcnow()
    totals, breakdowns, months = [], [], []
    for code in sorted(deltas):
        fig = deltas[code]
        if any(fig.totals.values()):
            totals.append({"region_code": code, "level": level_of(code), "updated_at": now, **fig.totals})
        for (dim, value), values in sorted(fig.breakdowns.items()):
            if any(values):
                breakdowns.append({"region_code": code, "dimension": dim, "value": value,
                                   **dict(zip(COUNTS, values))})
        for month, values in sorted(fig.months.items()):
            if any(values):
                months.append({"region_code": code, "month": month, **dict(zip(MONTH_COUNTS, values))})
    _add_totals(totals)
    _add_rows(SkillRollupBreakdown, ("region_code", "dimension", "value"), COUNTS, breakdowns)
    _add_rows(SkillRollupMonth, ("region_code", "month"), MONTH_COUNTS, months)


def _add_totals(rows: list[dict]) -> None:
    if not rows:
        return
    stmt = _insert(SkillRollup)
    table = SkillRollup.__table__
    set_ = {c: table.c[c] + stmt.excluded[c] for c in TOTALS}
    set_["updated_at"] = stmt.excluded["updated_at"]
    db.session.execute(stmt.on_conflict_do_update(index_elements=["region_code"], set_=set_), rows)


def _lock_villages(codes: list[str]) -> None:
    """Serialise concurrent refreshes of one village: make its row exist, then lock it (PostgreSQL;
    SQLite has one writer anyway). After the lock, the recount sees every committed award."""
    if not codes:
        return
    now = utcnow()
    stmt = _insert(SkillRollup).on_conflict_do_nothing(index_elements=["region_code"])
    db.session.execute(stmt, [{"region_code": c, "level": 5, "updated_at": now, **dict.fromkeys(TOTALS, 0)}
                              for c in codes])
    db.session.execute(select(SkillRollup.region_code).where(SkillRollup.region_code.in_(codes))
                       .order_by(SkillRollup.region_code).with_for_update())


def refresh_villages(codes: Iterable[str]) -> int:
    """Recount the villages and move their roll-ups (and their ancestors') by the difference.
    Returns how many villages changed. Call after the change is flushed."""
    codes = sorted({c for c in codes if c})
    changed = 0
    for i in range(0, len(codes), BATCH_VILLAGES):
        chunk = codes[i:i + BATCH_VILLAGES]
        db.session.flush()
        _lock_villages(chunk)
        fresh = compute_villages(chunk)
        stored = load(chunk)
        deltas: dict[str, Figures] = {}
        for code in chunk:
            delta = Figures()
            delta.add(fresh[code])
            delta.add(stored[code], -1)
            if not delta.is_zero():
                deltas[code] = delta
        changed += len(deltas)
        apply_delta(roll_up(deltas))
    return changed


@contextmanager
def tracking(household_ids: Iterable[int], villages: Iterable[str]):
    """``with tracking(households, their villages): change them`` — counts those households before
    and after the change and adds the difference to the roll-ups. Much cheaper than recounting
    whole villages when a batch of awards is spread over many villages."""
    db.session.flush()
    counted = count_before(household_ids, villages)
    yield
    db.session.flush()
    apply_after(counted)


@dataclass
class Counted:
    """The households a change touches and their figures before it (``count_before``)."""

    household_ids: list[int]
    before: dict[str, Figures]


def count_before(household_ids: Iterable[int], villages: Iterable[str]) -> Counted:
    """The first half of ``tracking``, without its flush: lock the villages and count the households
    as the database has them now. For a caller that cannot flush (a flush event's receiver)."""
    hids = sorted(set(household_ids))
    _lock_villages(sorted({c for c in villages if c}))
    return Counted(hids, _count_households(hids))


def apply_after(counted: Counted) -> None:
    """The second half of ``tracking``: count the same households again (the change is in the
    database) and add the difference to the roll-ups."""
    after = _count_households(counted.household_ids)
    before = counted.before
    deltas: dict[str, Figures] = {}
    for code in set(before) | set(after):
        delta = Figures()
        delta.add(after.get(code, Figures()))
        delta.add(before.get(code, Figures()), -1)
        if not delta.is_zero():
            deltas[code] = delta
    apply_delta(roll_up(deltas))


def _count_households(hids: list[int]) -> dict[str, Figures]:
    out: dict[str, Figures] = {}
    for i in range(0, len(hids), 5000):
        for code, fig in compute_villages([], hids[i:i + 5000]).items():
            out.setdefault(code, Figures()).add(fig)
    return out


def mark_dirty(codes: Iterable[str]) -> None:
    """Queue villages for the refresh job (bulk changes such as an import)."""
    codes = sorted({c for c in codes if c})
    if codes:
        stmt = _insert(DirtyVillage).on_conflict_do_nothing(index_elements=["village_code"])
        now = utcnow()
        db.session.execute(stmt, [{"village_code": c, "marked_at": now} for c in codes])


def refresh_dirty() -> int:
    """Refresh every village marked dirty; returns how many were refreshed."""
    started = utcnow()
    codes = list(db.session.scalars(select(DirtyVillage.village_code).where(DirtyVillage.marked_at <= started)))
    if not codes:
        return 0
    refresh_villages(codes)
    db.session.execute(delete(DirtyVillage).where(DirtyVillage.village_code.in_(codes),
                                                  DirtyVillage.marked_at <= started))
    return len(codes)


def all_villages(prefix: str = "") -> list[str]:
    """Every village with registry households or non-registry learners (under ``prefix``)."""
    from lms.accounts.models import User
    from lms.households.models import Household

    codes = set(db.session.scalars(select(Household.village_code).distinct().where(
        Household.village_code.startswith(prefix, autoescape=True))))
    codes.update(c for c in db.session.scalars(select(User.region_code).distinct().where(
        User.member_id.is_(None), User.region_code.startswith(prefix, autoescape=True))) if c and len(c) == 12
                 and level_of(c) == 5)
    return sorted(codes)


def recount(prefix: str = "", min_level: int = 1) -> dict[str, Figures]:
    """From-scratch figures of every region under ``prefix`` (whole regions only)."""
    villages = all_villages(prefix)
    out: dict[str, Figures] = {}
    for i in range(0, len(villages), BATCH_VILLAGES):
        for code, fig in roll_up(compute_villages(villages[i:i + BATCH_VILLAGES]), min_level).items():
            out.setdefault(code, Figures()).add(fig)
    return out


def rebuild() -> int:
    """Replace every roll-up with a recount; returns the number of regions."""
    figures = recount()
    db.session.execute(delete(SkillRollupBreakdown))
    db.session.execute(delete(SkillRollupMonth))
    db.session.execute(delete(SkillRollup))
    db.session.execute(delete(DirtyVillage))
    apply_delta(figures)
    return len(figures)


def verify(prefix: str = "") -> list[dict]:
    """Differences between the stored roll-ups and a recount, for regions under ``prefix``."""
    min_level = level_of(prefix.ljust(12, "0")) if prefix else 1
    fresh = recount(prefix, min_level)
    stored_codes = set(db.session.scalars(select(SkillRollup.region_code).where(
        SkillRollup.region_code.startswith(prefix, autoescape=True), SkillRollup.level >= min_level)))
    codes = sorted(stored_codes | set(fresh))
    stored = load(codes)
    problems = []
    for code in codes:
        want, have = fresh.get(code, Figures()).clean(), stored[code].clean()
        for k in TOTALS:
            if want.totals[k] != have.totals[k]:
                problems.append({"region": code, "figure": k, "stored": have.totals[k], "recount": want.totals[k]})
        for key in sorted(set(want.breakdowns) | set(have.breakdowns)):
            w, h = want.breakdowns.get(key, [0] * 6), have.breakdowns.get(key, [0] * 6)
            if w != h:
                problems.append({"region": code, "figure": f"{key[0]}:{key[1]}", "stored": h, "recount": w})
        for key in sorted(set(want.months) | set(have.months)):
            w, h = want.months.get(key, [0] * 4), have.months.get(key, [0] * 4)
            if w != h:
                problems.append({"region": code, "figure": f"month:{key}", "stored": h, "recount": w})
    return problems


# Receivers (connected by ``lms.stats.init_app``) -----------------------------------------------

def on_registry_changed(sender=None, village_codes=(), **_extra) -> None:
    """The registry changed (an import, a move, a removal): mark its villages for the next recount."""
    mark_dirty(village_codes)


def on_registry_changing(sender=None, household_ids=(), village_codes=(), **_extra):
    """A few households are about to change (a member removed, a household moved): count them
    around the change, so the figures move in its transaction rather than at the next recount."""
    return tracking(household_ids, village_codes)


def on_awards_changing(sender=None, household_ids=(), village_codes=(), **_extra):
    """Awards or revocations are about to be written: count those households around the change."""
    return tracking(household_ids, village_codes)


def on_awards_changed(sender=None, village_codes=(), **_extra) -> None:
    """Awards were flushed for people or villages counted whole: recount those villages now."""
    refresh_villages(village_codes)
