"""Programmes, the skill catalogue, courses, lessons, quizzes and enrolments."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db


class Programme(db.Model):
    """A training programme (雨露计划, 同心温暖工程 …): data, not code."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SkillCategory(enum.Enum):
    """Broad fields of the practical-skill catalogue."""
    agriculture = "agriculture"      # 农业技术
    processing = "processing"        # 加工制造
    construction = "construction"    # 建筑与电焊
    services = "services"            # 生活服务
    commerce = "commerce"            # 电商与流通
    transport = "transport"          # 交通运输
    crafts = "crafts"                # 传统手工艺
    tourism = "tourism"              # 乡村旅游


class Skill(db.Model):
    """A practical skill (实用技能). Top-level skills carry an icon; finer ones sit under them."""

    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    category: Mapped[SkillCategory] = mapped_column(
        Enum(SkillCategory, name="skill_category", native_enum=False, length=16))
    icon: Mapped[str] = mapped_column(String(40), default="skill")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("skills.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[Skill | None] = relationship(remote_side=[id])

    @property
    def top(self) -> Skill:
        return self.parent or self


course_trainers = db.Table(
    "course_trainers",
    db.Column("course_id", ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    db.Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Course(db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id"), index=True)
    # A media asset id (media owns the table; its in-use checker asks us before deleting).
    cover_asset_id: Mapped[int | None] = mapped_column(Integer, index=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    programme: Mapped[Programme] = relationship()
    skill: Mapped[Skill] = relationship()
    trainers = relationship("User", secondary=course_trainers, lazy="selectin")
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="course", order_by="Lesson.position", cascade="all, delete-orphan")
    regions: Mapped[list[CourseRegion]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    quiz: Mapped[Quiz | None] = relationship(back_populates="course", cascade="all, delete-orphan",
                                             uselist=False)

    @property
    def region_codes(self) -> list[str]:
        return sorted(r.region_code for r in self.regions)


class CourseRegion(db.Model):
    """Where a course is offered; a course with no rows is offered everywhere."""

    __tablename__ = "course_regions"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)
    # The region's significant digits (渭源县 621123000000 → 621123): a learner's village code
    # starting with it is inside the region.
    prefix: Mapped[str] = mapped_column(String(12), index=True)


class LessonKind(enum.Enum):
    video = "video"
    audio = "audio"
    document = "document"
    text = "text"

    @property
    def label(self):
        from flask_babel import lazy_gettext as _l

        return {LessonKind.video: _l("video"), LessonKind.audio: _l("audio"), LessonKind.document: _l("document"),
                LessonKind.text: _l("text")}[self]


class Lesson(db.Model):
    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[LessonKind] = mapped_column(Enum(LessonKind, name="lesson_kind", native_enum=False, length=16))
    body: Mapped[str] = mapped_column(Text, default="")
    asset_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # A PDF for document lessons, relative to LMS_MEDIA_ROOT (content-addressed).
    document_path: Mapped[str | None] = mapped_column(String(200))
    # WebVTT text; small enough to keep in the row and serve with the lesson.
    captions: Mapped[str | None] = mapped_column(Text)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    duration: Mapped[float | None] = mapped_column(Float)

    course: Mapped[Course] = relationship(back_populates="lessons")

    @property
    def is_media(self) -> bool:
        return self.kind in (LessonKind.video, LessonKind.audio)


class Quiz(db.Model):
    __tablename__ = "quizzes"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), unique=True)
    pass_mark: Mapped[float] = mapped_column(Float, default=0.6)

    course: Mapped[Course] = relationship(back_populates="quiz")
    questions: Mapped[list[Question]] = relationship(
        back_populates="quiz", order_by="Question.position", cascade="all, delete-orphan", lazy="selectin")


class Question(db.Model):
    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    choices: Mapped[list] = mapped_column(JSON)
    answer: Mapped[list] = mapped_column(JSON)
    # For learners who read little: a picture and a spoken prompt.
    image_path: Mapped[str | None] = mapped_column(String(200))
    audio_asset_id: Mapped[int | None] = mapped_column(Integer)

    quiz: Mapped[Quiz] = relationship(back_populates="questions")

    @property
    def multiple(self) -> bool:
        return len(self.answer) > 1


class Enrolment(db.Model):
    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_lesson_id: Mapped[int | None] = mapped_column(Integer)
    last_active_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Recorded once, when every required lesson is complete and the quiz is passed.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    course: Mapped[Course] = relationship()
