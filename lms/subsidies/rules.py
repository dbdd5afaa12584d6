"""The programme rules as data: versions per strand, with validity (DOMAIN.md §6). A new version never
touches a batch already made (rows keep their rule id and amount)."""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import gettext as _
from sqlalchemy import select

from lms.audit import record
from lms.extensions import db
from lms.subsidies.models import EVIDENCE, FREQUENCIES, STRANDS, Rule


class RuleError(ValueError):
    """Bad rule input; ``str()`` is for the person."""


def find_programme(name: str):
    from courses.models import Programme

    name = (name or "").strip()
    return db.session.scalar(select(Programme).where((Programme.name == name) | (Programme.code == name)))


def set_rule(actor, *, strand: str, programme: str | None, amount_fen: int, evidence: str, min_age: int,
             max_age: int, per: str, categories: str = "0,1,3", valid_from: dt.date | None = None,
             valid_to: dt.date | None = None) -> Rule:
    """Add a new version of the strand's rule (audited)."""
    if strand not in STRANDS:
        raise RuleError(_("Unknown strand: choose 短期技能培训 or 职业教育."))
    if evidence not in EVIDENCE:
        raise RuleError(_("Unknown evidence: completion, certificate, class or enrolment."))
    if per not in FREQUENCIES:
        raise RuleError(_("How often: once per year or once per term."))
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise RuleError(_("The amount must be more than zero."))
    if not (0 <= min_age <= max_age <= 120):
        raise RuleError(_("The age range is not valid (minimum ≤ maximum)."))
    if valid_from and valid_to and valid_to < valid_from:
        raise RuleError(_("The rule ends before it starts."))
    codes = [c.strip() for c in (categories or "").split(",") if c.strip()]
    from lms.households import categories as cat

    if not codes or any(c not in {m.value for m in cat.PovertyStatus} for c in codes):
        raise RuleError(_("Household categories: give 脱贫状态 codes such as 0,1,3."))
    programme_row = None
    if evidence != "enrolment" or programme:
        programme_row = find_programme(programme or "")
        if programme_row is None:
            raise RuleError(_("No programme of that name."))
    rule = Rule(strand=strand, programme_id=programme_row.id if programme_row else None, amount_fen=amount_fen,
                evidence=evidence, min_age=min_age, max_age=max_age, per=per, categories=",".join(codes),
                valid_from=valid_from, valid_to=valid_to, created_by_id=getattr(actor, "id", None))
    db.session.add(rule)
    db.session.flush()
    record(actor, "subsidies.rule_set", rule, rule_json(rule))
    return rule


def rule_json(rule: Rule) -> dict:
    from lms.subsidies.money import yuan

    return {"rule": rule.id, "strand": rule.strand, "programme": rule.programme.name if rule.programme else None,
            "amount_yuan": yuan(rule.amount_fen), "evidence": rule.evidence, "min_age": rule.min_age,
            "max_age": rule.max_age, "per": rule.per, "categories": rule.categories.split(","),
            "valid_from": rule.valid_from.isoformat() if rule.valid_from else None,
            "valid_to": rule.valid_to.isoformat() if rule.valid_to else None}


def versions(strand: str) -> list[Rule]:
    """The strand's versions, newest first (the newest valid one applies)."""
    return list(db.session.scalars(select(Rule).where(Rule.strand == strand).order_by(Rule.id.desc())))


def rule_on(rules: list[Rule], day: dt.date) -> Rule | None:
    for rule in rules:
        if rule.valid_on(day):
            return rule
    return None


def period_range(period: str, per: str) -> tuple[dt.date, dt.date]:
    """'2026' → the year; '2026-1' → spring term (Jan–Jul), '2026-2' → autumn term (Aug–Dec)."""
    if per == "year":
        if not re.fullmatch(r"\d{4}", period or ""):
            raise RuleError(_("A yearly strand's period is a year, for example 2026."))
        year = int(period)
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    match = re.fullmatch(r"(\d{4})-([12])", period or "")
    if not match:
        raise RuleError(_("A term strand's period is a year and a term, for example 2026-1 or 2026-2."))
    year = int(match.group(1))
    if match.group(2) == "1":
        return dt.date(year, 1, 1), dt.date(year, 7, 31)
    return dt.date(year, 8, 1), dt.date(year, 12, 31)
