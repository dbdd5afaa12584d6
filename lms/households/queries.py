"""Reads of the registry: the laborer rule, lists, details, history, look-ups."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Integer, and_, cast, exists, func, select
from sqlalchemy.sql.elements import ColumnElement

from lms.extensions import db
from lms.regions.models import Region
from lms.regions.scope import in_scope
from lms.settings import get_setting

from . import categories as cat
from .models import Household, HouseholdImport, Member, MemberChange


@dataclass(frozen=True)
class LaborerRule:
    """The laborer rule's parameters (DOMAIN.md §1), from the settings."""

    min_age: int
    max_age: int
    capacities: tuple[str, ...]
    as_of: tuple[int, int]  # (month, day) within the record year

    @classmethod
    def current(cls) -> LaborerRule:
        month, day = (int(x) for x in str(get_setting("households.laborer_as_of")).split("-"))
        caps = str(get_setting("households.laborer_capacities"))
        return cls(int(get_setting("households.laborer_min_age")),
                   int(get_setting("households.laborer_max_age")),
                   tuple(c.strip() for c in caps.split(",") if c.strip()), (month, day))


def laborer_condition(rule: LaborerRule | None = None) -> ColumnElement[bool]:
    """SQL: the member is a laborer (劳动力).  Needs ``households`` in the FROM
    clause (join Member.household).

    Age at the record year's as-of date, in whole years, is
    (as-of YYYYMMDD − birth YYYYMMDD) div 10000, so the age range becomes a range
    on ``birth_ymd`` that SQLite and PostgreSQL evaluate alike (and index)."""
    rule = rule or LaborerRule.current()
    # year is a SMALLINT: widen it, or PostgreSQL computes YYYYMMDD in 16 bits.
    as_of = cast(Household.year, Integer) * 10000 + (rule.as_of[0] * 100 + rule.as_of[1])
    return and_(
        Member.removed_at.is_(None),
        Member.birth_ymd <= as_of - rule.min_age * 10000,
        Member.birth_ymd > as_of - rule.max_age * 10000,
        Member.labour_skill.in_([cat.LabourSkill(c) for c in rule.capacities]),
        Member.student_status.is_(None),
    )


def laborers(rule: LaborerRule | None = None):
    """SELECT of the laborer members (joined to their household)."""
    return select(Member).join(Member.household).where(laborer_condition(rule))


@dataclass
class HouseholdFilters:
    region: str = ""  # a region code prefix (village, township, ...)
    poverty_status: str = ""
    household_type: str = ""
    main_cause: str = ""
    has_laborers: str = ""  # "", "yes", "no"
    household_no: str = ""


def households_query(user, filters: HouseholdFilters):
    """Households the user may see, filtered, newest number first."""
    stmt = select(Household).where(in_scope(user, Household.village_code))
    if filters.region:
        region = db.session.get(Region, filters.region)
        prefix = region.prefix if region else filters.region
        stmt = stmt.where(Household.village_code.startswith(prefix, autoescape=True))
    if filters.poverty_status:
        stmt = stmt.where(Household.poverty_status == cat.PovertyStatus(filters.poverty_status))
    if filters.household_type:
        stmt = stmt.where(Household.household_type == cat.HouseholdType(filters.household_type))
    if filters.main_cause:
        stmt = stmt.where(Household.main_cause == cat.Cause(filters.main_cause))
    if filters.household_no:
        stmt = stmt.where(Household.household_no.startswith(filters.household_no, autoescape=True))
    if filters.has_laborers in ("yes", "no"):
        any_laborer = exists(select(Member.id).where(Member.household_id == Household.id,
                                                     laborer_condition()))
        stmt = stmt.where(any_laborer if filters.has_laborers == "yes" else ~any_laborer)
    return stmt.order_by(Household.household_no)


def laborer_counts(household_ids: list[int]) -> dict[int, int]:
    if not household_ids:
        return {}
    rows = db.session.execute(
        select(Member.household_id, func.count(Member.id)).join(Member.household)
        .where(Member.household_id.in_(household_ids), laborer_condition())
        .group_by(Member.household_id))
    return dict(rows.all())


def household_history(household_id: int) -> list[MemberChange]:
    return list(db.session.scalars(
        select(MemberChange).where(MemberChange.household_id == household_id)
        .order_by(MemberChange.changed_at.desc(), MemberChange.id.desc())))


def poverty_status_history(member_id: int) -> list[tuple[dt.datetime, cat.PovertyStatus | None]]:
    """A member's 脱贫状态 over time: [(since, status), ...], oldest first."""
    member = db.session.get(Member, member_id)
    if member is None:
        return []
    household = member.household
    changes = list(db.session.scalars(
        select(MemberChange).where(MemberChange.household_id == household.id,
                                   MemberChange.member_id.is_(None),
                                   MemberChange.field == "poverty_status")
        .order_by(MemberChange.changed_at, MemberChange.id)))

    def status(code):
        return cat.PovertyStatus(code) if code else None

    first = status(changes[0].old) if changes else household.poverty_status
    timeline = [(household.created_at, first)]
    timeline += [(c.changed_at, status(c.new)) for c in changes]
    return timeline


def member_by_id_number(number: str) -> Member | None:
    """The registered member with this ID (or disability-certificate) number."""
    from .idnumbers import lookup_digests
    from .services import cipher

    keys = lookup_digests(cipher(), number)
    if not keys:
        return None
    return db.session.scalar(select(Member).where(Member.id_hash.in_(keys)))


def registered_member(number: str, scope: str = "") -> tuple[Member | None, tuple[str, dict] | None]:
    """The member an import row (certificates, accounts, enrolments) names by ID number, or why
    not as (code, params) of the registry's messages: a malformed number, nobody registered (or
    removed), or someone registered outside ``scope`` (a village-code prefix, lms.regions.scope
    .write_prefix) — "registered_elsewhere", which names nothing of that region."""
    from .idnumbers import IdError, parse_id

    try:
        parse_id(number)
    except IdError as exc:
        return None, (exc.code, exc.params)
    member = member_by_id_number(number)
    if member is None or member.removed_at is not None:
        return None, ("unknown_person", {})
    if not member.household.village_code.startswith(scope):
        return None, ("registered_elsewhere", {})
    return member, None


def row_person(number: int, cell, column, scope: str, required=()) -> tuple[Member | None, list]:
    """An import row's first checks, the same in every import that names a person by 证件号码
    (certificates, accounts, enrolments): each ``required`` cell is filled, and the row's
    ``id_number`` names a registered member in ``scope`` (registered_member). Returns (the member or
    None, the row's issues so far); ``cell``/``column`` are lms.spreadsheets' Sheet.cell/header."""
    from lms.spreadsheets.report import Issue

    errors = [Issue(number, column(name), "required") for name in required if not cell(name)]
    member = None
    if cell("id_number"):
        member, problem = registered_member(cell("id_number"), scope)
        if problem:
            errors.append(Issue(number, column("id_number"), *problem))
    return member, errors


def imports_for(user, limit: int = 20) -> list[HouseholdImport]:
    stmt = select(HouseholdImport).order_by(HouseholdImport.id.desc()).limit(limit)
    if not user.has_role("admin"):
        stmt = stmt.where(HouseholdImport.user_id == user.id)
    return list(db.session.scalars(stmt))


def heads_of(household_ids: list[int]) -> dict[int, Member]:
    """The 户主 of each household."""
    if not household_ids:
        return {}
    rows = db.session.scalars(select(Member).where(Member.household_id.in_(household_ids),
                                                   Member.relation == cat.Relation.HEAD))
    return {m.household_id: m for m in rows}


def member_counts(household_ids: list[int]) -> dict[int, int]:
    if not household_ids:
        return {}
    rows = db.session.execute(
        select(Member.household_id, func.count(Member.id))
        .where(Member.household_id.in_(household_ids), Member.removed_at.is_(None))
        .group_by(Member.household_id))
    return dict(rows.all())


def laborer_member_ids(household_id: int) -> set[int]:
    return set(db.session.scalars(select(Member.id).join(Member.household)
                                  .where(Member.household_id == household_id, laborer_condition())))


def accounts_of(member_ids: list[int]) -> dict[int, object]:
    from lms.accounts.models import User

    if not member_ids:
        return {}
    return {u.member_id: u for u in db.session.scalars(select(User).where(
        User.member_id.in_(member_ids)))}
