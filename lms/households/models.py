"""The 建档立卡 registry: households, members, their change history, imports."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from lms.db import UTCDateTime, utcnow
from lms.extensions import db

from . import categories as cat


class CodeEnum(TypeDecorator):
    """A national category stored as its code; reads back as the enum member.

    Bulk writes pass the code string itself, which is stored unchanged."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[cat.Category], length: int = 2):
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return value.value if isinstance(value, cat.Category) else self.enum(value).value

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum(value)


class Household(db.Model):
    """A registered poor household (建档立卡贫困户)."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_no: Mapped[str] = mapped_column(String(40), unique=True)  # 户编号
    village_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    year: Mapped[int] = mapped_column(SmallInteger)  # 年度: the record year
    household_type: Mapped[cat.HouseholdType | None] = mapped_column(CodeEnum(cat.HouseholdType, 1))
    poverty_status: Mapped[cat.PovertyStatus | None] = mapped_column(CodeEnum(cat.PovertyStatus, 1))
    exit_year: Mapped[int | None] = mapped_column(SmallInteger)
    main_cause: Mapped[cat.Cause | None] = mapped_column(CodeEnum(cat.Cause, 2))
    other_causes: Mapped[str | None] = mapped_column(String(8))  # codes, comma-separated
    standard: Mapped[cat.Standard | None] = mapped_column(CodeEnum(cat.Standard, 1))
    phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[Member]] = relationship(back_populates="household",
                                                 order_by="Member.relation, Member.id")
    village = relationship("Region")

    @property
    def other_cause_labels(self) -> list[str]:
        return [cat.Cause(c).label for c in (self.other_causes or "").split(",") if c]

    def __repr__(self) -> str:
        return f"<Household {self.household_no}>"


class Member(db.Model):
    """A person of a registered household.  The ID number is stored encrypted
    (``id_enc``) with a keyed hash (``id_hash``) for look-up and uniqueness."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    id_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_hash: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    person_no: Mapped[str | None] = mapped_column(String(40))  # 人口编号
    name: Mapped[str] = mapped_column(String(50))
    sex: Mapped[cat.Sex] = mapped_column(CodeEnum(cat.Sex, 1))
    birth_ymd: Mapped[int] = mapped_column(Integer)  # YYYYMMDD, from the ID number
    doc_type: Mapped[cat.DocType] = mapped_column(CodeEnum(cat.DocType, 1))
    relation: Mapped[cat.Relation] = mapped_column(CodeEnum(cat.Relation, 2))
    education: Mapped[cat.Education | None] = mapped_column(CodeEnum(cat.Education, 1))
    student_status: Mapped[cat.StudentStatus | None] = mapped_column(CodeEnum(cat.StudentStatus, 2))
    labour_skill: Mapped[cat.LabourSkill] = mapped_column(CodeEnum(cat.LabourSkill, 1))
    work_place: Mapped[cat.WorkPlace | None] = mapped_column(CodeEnum(cat.WorkPlace, 1))
    work_months: Mapped[int | None] = mapped_column(SmallInteger)
    health: Mapped[str | None] = mapped_column(String(8))  # codes, comma-separated
    ethnicity: Mapped[str | None] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(20))
    politics: Mapped[str | None] = mapped_column(String(20))
    employer: Mapped[str | None] = mapped_column(String(100))
    dibao: Mapped[bool | None] = mapped_column(Boolean)
    tekun: Mapped[bool | None] = mapped_column(Boolean)
    mandarin: Mapped[bool | None] = mapped_column(Boolean)
    dropout_reason: Mapped[str | None] = mapped_column(String(50))
    disability: Mapped[str | None] = mapped_column(String(50))
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    household: Mapped[Household] = relationship(back_populates="members")

    @property
    def birth_date(self) -> dt.date:
        return dt.date(self.birth_ymd // 10000, self.birth_ymd // 100 % 100, self.birth_ymd % 100)

    def age_on(self, day: dt.date) -> int:
        return (day.year * 10000 + day.month * 100 + day.day - self.birth_ymd) // 10000

    @property
    def health_labels(self) -> list[str]:
        return [cat.Health(c).label for c in (self.health or "").split(",") if c]

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.name}>"


class HouseholdImport(db.Model):
    """One import of a member export: who, what file, how far, the report."""

    __tablename__ = "household_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # see uploads.STATES
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    strict: Mapped[bool] = mapped_column(Boolean, default=False)
    create_regions: Mapped[bool] = mapped_column(Boolean, default=False)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    # The running job's claim; its lease is renewed beside the upload (see ``uploads``).
    lease_token: Mapped[str | None] = mapped_column(String(16))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rows_total: Mapped[int | None] = mapped_column(Integer)
    exit_code: Mapped[int | None] = mapped_column(SmallInteger)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")


class MemberChange(db.Model):
    """One changed field of a household or member (动态管理): old → new, when, by
    which import or user.  ``member_id`` is None for household fields."""

    __tablename__ = "member_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("household_imports.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user = relationship("User")
    source = relationship("HouseholdImport")
