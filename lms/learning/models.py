"""Progress, heartbeats, quiz attempts and certificates."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db


class Progress(db.Model):
    """One learner's progress in one lesson: the merged intervals actually played."""

    __tablename__ = "progress"
    __table_args__ = (UniqueConstraint("user_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    intervals: Mapped[list] = mapped_column(JSON, default=list)
    watched_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    coverage: Mapped[float] = mapped_column(Float, default=0.0)
    position: Mapped[float] = mapped_column(Float, default=0.0)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Pacing (epoch seconds): see lms.learning.intervals.ClaimClock.
    paid_until: Mapped[float | None] = mapped_column(Float)
    last_heartbeat_at: Mapped[float | None] = mapped_column(Float)
    last_client_id: Mapped[str | None] = mapped_column(String(64))
    last_seq: Mapped[int | None] = mapped_column(Integer)


class Heartbeat(db.Model):
    """Every accepted heartbeat, so a retried one (same client_id, seq) is applied once."""

    __tablename__ = "heartbeats"
    __table_args__ = (UniqueConstraint("user_id", "client_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    claimed_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuizAttempt(db.Model):
    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    answers: Mapped[list] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Certificate(db.Model):
    """A training certificate (培训合格证书) issued on course completion.

    The printed fields are copied at issue time: a later rename of the course or the learner
    must not change a certificate already printed.
    """

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    learner_name: Mapped[str] = mapped_column(String(64))
    masked_id: Mapped[str] = mapped_column(String(32), default="")
    course_title: Mapped[str] = mapped_column(String(200))
    skill_name: Mapped[str] = mapped_column(String(60))
    programme_name: Mapped[str] = mapped_column(String(100))
    trainer_name: Mapped[str] = mapped_column(String(64), default="")

    course = relationship("Course")
