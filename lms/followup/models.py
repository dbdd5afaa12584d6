"""Follow-up of open cases (跟踪销号): training assignments and deferrals."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db


class Assignment(db.Model):
    """A measure an official arranged for a laborer (培训安排): a course or an offline class, with a
    due date. Its status is computed from progress and awards (``lms.followup.status``), never stored.

    ``village_code`` is the laborer's village when assigned: it scopes the row for officials and lets
    the roll-ups and the weekly summary find a region's assignments without joining the registry."""

    __tablename__ = "followup_assignments"
    # One course (one class) once per laborer: the constraint, not a check, is what makes two
    # officials assigning at the same moment end with one row.
    __table_args__ = (
        UniqueConstraint("member_id", "course_id"),
        UniqueConstraint("member_id", "offline_class_id"),
        Index("ix_followup_assignments_village_due", "village_code", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    offline_class_id: Mapped[int | None] = mapped_column(ForeignKey("offline_classes.id", ondelete="CASCADE"),
                                                         index=True)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    member = relationship("Member")
    course = relationship("Course")
    offline_class = relationship("OfflineClass")
    assigned_by = relationship("User")


class DeferralReason(enum.Enum):
    """Why a laborer is not suitable for training now (DOMAIN.md §7)."""

    working_away = "working_away"
    illness = "illness"
    in_school = "in_school"
    frail = "frail"
    other = "other"

    @property
    def label(self) -> str:
        return DEFERRAL_LABELS[self]


# The labels officials use; shown as they are in both languages (as the national categories are).
DEFERRAL_LABELS = {
    DeferralReason.working_away: "外出务工",
    DeferralReason.illness: "长期患病或残疾",
    DeferralReason.in_school: "在校就读",
    DeferralReason.frail: "年老体弱",
    DeferralReason.other: "其他",
}


class Deferral(db.Model):
    """A laborer marked 暂缓 until ``review_on`` (inclusive); the day after, they are open again.
    At most one per member; ending it deletes the row (the audit log keeps the history)."""

    __tablename__ = "followup_deferrals"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    reason: Mapped[DeferralReason] = mapped_column(
        Enum(DeferralReason, name="deferral_reason", native_enum=False, length=16))
    reason_text: Mapped[str] = mapped_column(Text, default="")
    review_on: Mapped[dt.date] = mapped_column(Date, index=True)
    deferred_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    member = relationship("Member")
    deferred_by = relationship("User")


class RollupDay(db.Model):
    """The day (Asia/Shanghai) the follow-up figures in the roll-ups were last brought up to: overdue
    and 暂缓 depend on the date, so the daily job recounts the villages whose dates passed since."""

    __tablename__ = "followup_rollup_days"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
