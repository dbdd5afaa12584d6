"""The programme rules as data: versions per strand, with validity (DOMAIN.md §6). A new version never
touches a batch already made (rows keep their rule id and amount)."""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import gettext as _
from sqlalchemy import select

from lms.audit import record
from lms.errors import FieldError
from lms.extensions import db
from lms.subsidies.models import DEFAULT_CATEGORIES, EVIDENCE, FREQUENCIES, STRANDS, Rule


class RuleError(FieldError):
    """Bad rule input; ``str()`` is for the person, ``field`` names the form field at fault (the page
    shows the message under it)."""


def find_programme(name: str):
    from courses.models import Programme

    name = (name or "").strip()
    return db.session.scalar(select(Programme).where((Programme.name == name) | (Programme.code == name)))


def set_rule(actor, *, strand: str, programme: str | None, amount_fen: int, evidence: str, min_age: int,
             max_age: int, per: str, categories: str = DEFAULT_CATEGORIES, valid_from: dt.date | None = None,
             valid_to: dt.date | None = None) -> Rule:
    """Add a new version of the strand's rule (audited)."""
    if strand not in STRANDS:
        raise RuleError(_("Unknown strand: choose 短期技能培训 or 职业教育."), "strand")
    if evidence not in EVIDENCE:
        raise RuleError(_("Unknown evidence: choose one of %(names)s.", names="、".join(EVIDENCE.values())), "evidence")
    if per not in FREQUENCIES:
        raise RuleError(_("How often: once per year or once per term."), "per")
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise RuleError(_("The amount must be more than zero."), "amount")
    if not (0 <= min_age <= max_age <= 120):
        raise RuleError(_("The age range is not valid (minimum ≤ maximum)."), "max_age")
    if valid_from and valid_to and valid_to < valid_from:
        raise RuleError(_("The rule ends before it starts."), "valid_to")
    codes = [c.strip() for c in (categories or "").split(",") if c.strip()]
    from lms.households import categories as cat

    if not codes or any(c not in {m.value for m in cat.PovertyStatus} for c in codes):
        names = "、".join(f"{m.label} ({m.value})" for m in cat.PovertyStatus)
        raise RuleError(_("Choose at least one household category (脱贫状态) that qualifies: %(names)s.", names=names),
                        "categories")
    programme_row = None
    if evidence != "enrolment" or programme:
        programme_row = find_programme(programme or "")
        if programme_row is None:
            raise RuleError(_("No programme of that name."), "programme")
    rule = Rule(strand=strand, programme_id=programme_row.id if programme_row else None, amount_fen=amount_fen,
                evidence=evidence, min_age=min_age, max_age=max_age, per=per, categories=",".join(codes),
                valid_from=valid_from, valid_to=valid_to, created_by_id=getattr(actor, "id", None))
    db.session.add(rule)
    db.session.flush()
    # The audit log shows details as they are: the household categories by their national labels.
    labels = {m.value: m.label for m in cat.PovertyStatus}
    record(actor, "subsidies.rule_set", rule, {**rule_json(rule), "categories": [labels[c] for c in codes]})
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
            raise RuleError(_("A yearly strand's period is a year, for example 2026."), "period")
        year = int(period)
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    match = re.fullmatch(r"(\d{4})-([12])", period or "")
    if not match:
        raise RuleError(_("A term strand's period is a year and a term, for example 2026-1 or 2026-2."), "period")
    year = int(match.group(1))
    if match.group(2) == "1":
        return dt.date(year, 1, 1), dt.date(year, 7, 31)
    return dt.date(year, 8, 1), dt.date(year, 12, 31)
