"""雨露计划 subsidies (DOMAIN.md §6): rules as data, payment accounts, batches (台账) and their rows,
objections (异议). Money is integer fen everywhere; ``lms.subsidies.money`` turns it into yuan text."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, Boolean, Date, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String,
                        Text, UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db

# Labels are the names officials use; shown as they are in both languages (like the national categories).
STRANDS = {"short-training": "短期技能培训", "vocational-education": "职业教育"}
EVIDENCE = {"completion": "课程结业证书", "certificate": "培训证书", "class": "线下培训班考核合格",
            "enrolment": "在校学籍证明"}
FREQUENCIES = {"year": "每人每年一次", "term": "每人每学期一次"}
# Batch states, in the order of the review chain.
BATCH_STATES = {"draft": "村级核实中", "submitted": "乡镇已提交，待县级审批", "notice": "公示中",
                "payable": "公示结束，待支付"}
ROW_STATES = {"proposed": "待核实", "certified": "已核实", "excluded": "已剔除", "payable": "待支付",
              "paid": "已支付", "failed": "支付失败"}
# A row in one of these states holds the person's one payment for the strand and period.
CLAIMS = ("proposed", "certified", "payable", "paid")
OUTCOMES = {"upheld": "异议成立（剔除）", "dismissed": "异议不成立（恢复）"}
# The households that enjoy the policy (DOMAIN.md §6): 脱贫状态 0 未脱贫, 1 已脱贫(享受政策), 3 返贫. The
# registry has no separate 监测对象 flag; a monitored household that relapsed is recorded as 3.
DEFAULT_CATEGORIES = "0,1,3"


class Rule(db.Model):
    """One version of a strand's rule. ``flask subsidies rule set`` adds a version, never edits one:
    a batch row keeps the rule id and the amount it was proposed with."""

    __tablename__ = "subsidy_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    strand: Mapped[str] = mapped_column(String(32), index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"))
    amount_fen: Mapped[int] = mapped_column(Integer)
    evidence: Mapped[str] = mapped_column(String(16))
    min_age: Mapped[int] = mapped_column(SmallInteger)
    max_age: Mapped[int] = mapped_column(SmallInteger)
    per: Mapped[str] = mapped_column(String(8))
    categories: Mapped[str] = mapped_column(String(16), default=DEFAULT_CATEGORIES)  # 脱贫状态 codes that qualify
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    programme = relationship("Programme")

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


class Account(db.Model):
    """A household's payment account (惠农一卡通). The number is sealed like an ID number (``id_enc``
    style) with a keyed hash for matching the bank's return file; ``last4`` is what pages show.
    A change adds a row and retires the old one (``current`` NULL): history, never overwritten."""

    __tablename__ = "subsidy_accounts"
    # ``current`` is True or NULL: one current account per household, any number of old ones.
    __table_args__ = (UniqueConstraint("household_id", "current"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    holder_name: Mapped[str] = mapped_column(String(50))
    bank: Mapped[str] = mapped_column(String(100))
    number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    number_hash: Mapped[bytes] = mapped_column(LargeBinary(16), index=True)
    last4: Mapped[str] = mapped_column(String(4))
    current: Mapped[bool | None] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    replaced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    holder = relationship("Member")
    created_by = relationship("User")

    @property
    def masked(self) -> str:
        return mask_account(self.last4)


def mask_account(last4: str | None) -> str:
    """The one mask for account numbers: only the last 4 digits."""
    return f"****{last4}" if last4 else ""


class Enrolment(db.Model):
    """A student of a registered household on a school's enrolment list (职业教育 strand), per term."""

    __tablename__ = "subsidy_enrolments"
    __table_args__ = (UniqueConstraint("member_id", "term"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    school: Mapped[str] = mapped_column(String(100))
    major: Mapped[str] = mapped_column(String(100), default="")
    student_no: Mapped[str] = mapped_column(String(40), default="")
    term: Mapped[str] = mapped_column(String(7))
    enrolled_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Batch(db.Model):
    """A township's list (台账) for one strand and period, moving through the review chain."""

    __tablename__ = "subsidy_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    strand: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    excluded: Mapped[list] = mapped_column(JSON, default=list)  # [{"member", "reason"}] at proposal
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    notice_token: Mapped[str | None] = mapped_column(String(32), unique=True)
    notice_from: Mapped[dt.date | None] = mapped_column(Date)
    notice_until: Mapped[dt.date | None] = mapped_column(Date)  # the first day after the notice

    region = relationship("Region")
    created_by = relationship("User", foreign_keys=[created_by_id])
    submitted_by = relationship("User", foreign_keys=[submitted_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])

    @property
    def status_label(self) -> str:
        return BATCH_STATES[self.status]

    @property
    def strand_label(self) -> str:
        return STRANDS.get(self.strand, "")


class Row(db.Model):
    """One person's payment in a batch, with its evidence and the amount from the rule (never typed)."""

    __tablename__ = "subsidy_rows"
    __table_args__ = (
        # No one paid twice: at most one claiming row per person, strand and period — the database
        # decides between two officials proposing the same person at the same moment.
        Index("uq_subsidy_rows_claim", "member_id", "strand", "period", unique=True,
              sqlite_where=text("status IN ('proposed', 'certified', 'payable', 'paid')"),
              postgresql_where=text("status IN ('proposed', 'certified', 'payable', 'paid')")),
        Index("ix_subsidy_rows_batch_village", "batch_id", "village_code"),
        Index("ix_subsidy_rows_village_status", "village_code", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("subsidy_batches.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    strand: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(7))
    rule_id: Mapped[int] = mapped_column(ForeignKey("subsidy_rules.id"))
    amount_fen: Mapped[int] = mapped_column(Integer)
    evidence: Mapped[str] = mapped_column(String(16))
    evidence_ref: Mapped[str] = mapped_column(String(40))  # "award:12", "certificate:3", "trainee:9", "enrolment:4"
    evidence_title: Mapped[str] = mapped_column(String(200), default="")
    certificate_number: Mapped[str] = mapped_column(String(64), default="")
    result_on: Mapped[dt.date] = mapped_column(Date)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("subsidy_accounts.id"))
    status: Mapped[str] = mapped_column(String(12), default="proposed")
    reason: Mapped[str] = mapped_column(String(200), default="")
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    certified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    exported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    bank_message: Mapped[str] = mapped_column(String(200), default="")

    member = relationship("Member")
    account = relationship("Account")
    batch = relationship("Batch")

    @property
    def status_label(self) -> str:
        return ROW_STATES[self.status]


class Objection(db.Model):
    """An objection (异议) raised during the public notice; the row is held until it is settled."""

    __tablename__ = "subsidy_objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    row_id: Mapped[int] = mapped_column(ForeignKey("subsidy_rows.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str | None] = mapped_column(String(12))
    outcome_text: Mapped[str] = mapped_column(Text, default="")
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    row = relationship("Row")
