"""Roll-ups of the skill goal, one row per region at every level, kept current incrementally.

A change in a village (an award, a revocation, a member import) recomputes that village from the
registry and adds the difference to the village's rows and to each ancestor's, so a province page
reads a handful of rows instead of scanning millions of members (``lms.stats.rollups``).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import UTCDateTime, utcnow
from lms.extensions import db

COUNTS = ("laborers", "with_1", "with_2", "households", "households_1", "households_2")
# Open cases of the follow-up (跟踪销号), for either goal threshold k: laborers with fewer than k
# skills who are assigned a measure (of whom overdue) or deferred (暂缓). Both thresholds are kept so
# a change of the goal setting needs no recount.
CASES = ("assigned_1", "overdue_1", "deferred_1", "assigned_2", "overdue_2", "deferred_2")


class SkillRollup(db.Model):
    """Figures of one region: laborers with ≥1 / ≥2 distinct skills, households (with at least one
    laborer) where some laborer has ≥1 / ≥2, and learners outside the registry, counted apart."""

    __tablename__ = "stats_rollups"

    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    laborers: Mapped[int] = mapped_column(Integer, default=0)
    with_1: Mapped[int] = mapped_column(Integer, default=0)
    with_2: Mapped[int] = mapped_column(Integer, default=0)
    households: Mapped[int] = mapped_column(Integer, default=0)
    households_1: Mapped[int] = mapped_column(Integer, default=0)
    households_2: Mapped[int] = mapped_column(Integer, default=0)
    nonreg_learners: Mapped[int] = mapped_column(Integer, default=0)
    nonreg_1: Mapped[int] = mapped_column(Integer, default=0)
    nonreg_2: Mapped[int] = mapped_column(Integer, default=0)
    assigned_1: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overdue_1: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    deferred_1: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    assigned_2: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overdue_2: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    deferred_2: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SkillRollupBreakdown(db.Model):
    """The same counts split by a household attribute: ``dimension`` is ``type`` (贫困户属性),
    ``status`` (脱贫状态) or ``cause`` (主要致贫原因); ``value`` the national code ('' = not recorded).
    One more row, ``week`` / '', holds the weekly overdue summary's count instead (``laborers``: at
    goal threshold 1, ``with_1``: at 2; see ``lms.stats.rollups.WEEK``)."""

    __tablename__ = "stats_rollup_breakdowns"

    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[str] = mapped_column(String(4), primary_key=True)
    laborers: Mapped[int] = mapped_column(Integer, default=0)
    with_1: Mapped[int] = mapped_column(Integer, default=0)
    with_2: Mapped[int] = mapped_column(Integer, default=0)
    households: Mapped[int] = mapped_column(Integer, default=0)
    households_1: Mapped[int] = mapped_column(Integer, default=0)
    households_2: Mapped[int] = mapped_column(Integer, default=0)


class SkillRollupMonth(db.Model):
    """How many of today's laborers (households) reached ≥1 / ≥2 skills in a month ('YYYY-MM'):
    the running sum is the coverage trend."""

    __tablename__ = "stats_rollup_months"

    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    reached_1: Mapped[int] = mapped_column(Integer, default=0)
    reached_2: Mapped[int] = mapped_column(Integer, default=0)
    households_1: Mapped[int] = mapped_column(Integer, default=0)
    households_2: Mapped[int] = mapped_column(Integer, default=0)


class DirtyVillage(db.Model):
    """A village whose registry rows changed in bulk (an import): the refresh job recomputes it."""

    __tablename__ = "stats_dirty_villages"

    village_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    marked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
