"""Skill awards and offline (in-person) training: classes, sessions, attendance, assessment."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Date, Enum, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db


class Evidence(enum.Enum):
    """What shows the skill is mastered (DOMAIN.md §5), weakest certificate first."""

    training_certificate = "training_certificate"
    special_ability = "special_ability"
    skill_level = "skill_level"
    qualification = "qualification"
    course_completion = "course_completion"
    trainer_signoff = "trainer_signoff"

    @property
    def label(self) -> str:
        return EVIDENCE_LABELS[self]


# The national names: officials' certificate spreadsheets use exactly these in 证书类型.
EVIDENCE_LABELS = {
    Evidence.training_certificate: "培训合格证书",
    Evidence.special_ability: "专项职业能力证书",
    Evidence.skill_level: "职业技能等级证书",
    Evidence.qualification: "职业资格证书",
    Evidence.course_completion: "课程结业",
    Evidence.trainer_signoff: "实操考核合格",
}
# 职业技能等级证书 carries a level; older certificates also use 技师 / 高级技师.
SKILL_LEVELS = ("初级", "中级", "高级", "技师", "高级技师")


class Source(enum.Enum):
    course = "course"
    offline_class = "offline_class"
    certificate_import = "certificate_import"


SOURCE_LABELS = {Source.course: "线上课程", Source.offline_class: "线下培训班", Source.certificate_import: "证书导入"}


class SkillAward(db.Model):
    """A skill a person has mastered, with its evidence. Registry members carry ``member_id``;
    learners outside the registry only ``user_id`` (they are counted separately).

    ``region_code`` is the person's village when awarded: it scopes the award for officials.
    A revoked award stays (with who, when and why) and no longer counts.
    """

    __tablename__ = "skill_awards"
    __table_args__ = (
        Index("ix_skill_awards_member_skill", "member_id", "skill_id"),
        Index("ix_skill_awards_user_skill", "user_id", "skill_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # None only for a learner outside the registry who has no village: then only admins see it.
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id"), index=True)
    evidence: Mapped[Evidence] = mapped_column(Enum(Evidence, name="award_evidence", native_enum=False, length=24))
    level: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[Source] = mapped_column(Enum(Source, name="award_source", native_enum=False, length=24))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), index=True)
    offline_class_id: Mapped[int | None] = mapped_column(ForeignKey("offline_classes.id"), index=True)
    # The programme (培训项目) an imported certificate was issued under; a course's or a class's award
    # carries its programme through the course or class.
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"), index=True)
    awarded_on: Mapped[dt.date] = mapped_column(Date)
    certificate_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    issuer: Mapped[str | None] = mapped_column(String(100))
    awarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(String(200))

    skill = relationship("Skill")
    awarded_by = relationship("User", foreign_keys=[awarded_by_id])

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class OfflineClass(db.Model):
    """An in-person training class (线下培训班) held by a trainer in a place."""

    __tablename__ = "offline_classes"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id"), index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"), index=True)
    place: Mapped[str] = mapped_column(String(200), default="")
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    hours: Mapped[float] = mapped_column(Float, default=0)
    trainer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    skill = relationship("Skill")
    programme = relationship("Programme")
    trainer = relationship("User")
    region = relationship("Region")
    trainees: Mapped[list[Trainee]] = relationship(back_populates="offline_class", order_by="Trainee.number",
                                                   cascade="all, delete-orphan")
    sessions: Mapped[list[ClassSession]] = relationship(back_populates="offline_class",
                                                        order_by="ClassSession.held_on, ClassSession.id",
                                                        cascade="all, delete-orphan")


class Trainee(db.Model):
    """A registry member on a class roster; ``number`` is the line number printed on the roster."""

    __tablename__ = "offline_trainees"
    __table_args__ = (UniqueConstraint("class_id", "number"), UniqueConstraint("class_id", "member_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("offline_classes.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    assessed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    # Photo evidence of the practical assessment, relative to LMS_MEDIA_ROOT (content-addressed).
    photo_path: Mapped[str | None] = mapped_column(String(200))
    award_id: Mapped[int | None] = mapped_column(ForeignKey("skill_awards.id"))

    offline_class: Mapped[OfflineClass] = relationship(back_populates="trainees")
    member = relationship("Member")
    award = relationship("SkillAward")


class ClassSession(db.Model):
    """One day (or half day) of a class; attendance is taken per session."""

    __tablename__ = "offline_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("offline_classes.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    hours: Mapped[float] = mapped_column(Float, default=0)
    topic: Mapped[str] = mapped_column(String(200), default="")

    offline_class: Mapped[OfflineClass] = relationship(back_populates="sessions")
    attendance: Mapped[list[Attendance]] = relationship(cascade="all, delete-orphan")


class Attendance(db.Model):
    __tablename__ = "offline_attendance"

    session_id: Mapped[int] = mapped_column(ForeignKey("offline_sessions.id", ondelete="CASCADE"),
                                            primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("offline_trainees.id", ondelete="CASCADE"),
                                            primary_key=True)
    present: Mapped[bool] = mapped_column(Boolean, default=True)
