from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from lms.db import UTCDateTime, utcnow
from lms.extensions import db


class Role(enum.Enum):
    learner = "learner"
    trainer = "trainer"
    official = "official"
    admin = "admin"

    @property
    def is_staff(self) -> bool:
        return self is not Role.learner

    @property
    def label(self):
        """The role's name in the reader's language (a page never shows the code)."""
        from flask_babel import lazy_gettext as _l

        return {Role.learner: _l("Learner"), Role.trainer: _l("Trainer"), Role.official: _l("Official"),
                Role.admin: _l("Admin")}[self]


class User(UserMixin, db.Model):
    """Anyone who signs in. Staff use username + password; learners an ID number or phone + PIN.

    A learner's identifier is never stored in the clear: ``login_key`` is its keyed hash and
    ``login_hint`` its masked form for display.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    login_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    login_hint: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[Role] = mapped_column(Enum(Role, name="user_role", native_enum=False, length=16))
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    # The registry member (建档立卡 person) this learner is; one account per member at most.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), unique=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    is_active_account: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_signin_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Every session carries the generation it was signed in under (lms.sessions); raising it
    # ends all of the account's sessions at once, in every process (sign-out, new PIN, disable).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.is_active_account

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, *roles: str) -> bool:
        return self.role.value in roles

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username or self.login_hint or f"#{self.id}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


class SigninFailure(db.Model):
    """One wrong PIN or password, counted per key (an account, or a route and address) in the
    database so every worker and every restart sees the same count (lms.accounts.lockouts)."""

    __tablename__ = "signin_failures"
    __table_args__ = (Index("ix_signin_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(96))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Terminal(db.Model):
    """A shared PC or tablet an admin registered to a village service centre."""

    __tablename__ = "terminals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Village links are shared by 10-20 terminals: start at 144p unless the learner chose.
    data_saver: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
