"""Recording progress, completing lessons and courses, quiz attempts, certificates.

Services flush and never commit.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select

from courses.models import Course, Enrolment, Lesson, LessonKind, Quiz
from lms.crypto import mask_id
from lms.db import utcnow
from lms.extensions import db
from lms.inputs import MAX_ID
from lms.learning import access, completion, intervals as iv
from lms.learning.models import Certificate, Heartbeat, Progress, QuizAttempt
from lms.learning.signals import course_completed
from lms.learning.store import store_for
from lms.settings import get_setting


class ProgressError(ValueError):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class ProgressResult:
    watched_seconds: float
    coverage: float
    completed: bool
    duplicate: bool = False

    def as_json(self) -> dict:
        return {"watched_seconds": round(self.watched_seconds, 2),
                "coverage": round(self.coverage, 4), "completed": self.completed}


def get_progress(user_id: int, lesson_id: int, create: bool = False) -> Progress | None:
    row = db.session.scalar(select(Progress).where(Progress.user_id == user_id,
                                                   Progress.lesson_id == lesson_id))
    if row is None and create:
        row = Progress(user_id=user_id, lesson_id=lesson_id, intervals=[], watched_seconds=0.0,
                       coverage=0.0, position=0.0, updated_at=utcnow())
        db.session.add(row)
        db.session.flush()
    return row


def note_opened(user_id: int, lesson: Lesson) -> Progress:
    """The learner opened the lesson page: the start of document reading time and of
    the first heartbeat's pacing allowance."""
    row = get_progress(user_id, lesson.id, create=True)
    row.opened_at = utcnow()
    enrolment = ensure_enrolment(user_id, lesson.course_id)
    enrolment.last_lesson_id = lesson.id
    enrolment.last_active_at = utcnow()
    db.session.flush()
    return row


def ensure_enrolment(user_id: int, course_id: int) -> Enrolment:
    row = db.session.scalar(select(Enrolment).where(Enrolment.user_id == user_id,
                                                    Enrolment.course_id == course_id))
    if row is None:
        row = Enrolment(user_id=user_id, course_id=course_id, created_at=utcnow())
        db.session.add(row)
        db.session.flush()
    return row


def _result(row: Progress, duplicate=False) -> ProgressResult:
    return ProgressResult(row.watched_seconds, row.coverage, row.completed_at is not None, duplicate)


def parse_heartbeat(body) -> tuple[int, list, float, str, int]:
    if not isinstance(body, dict):
        raise ProgressError("body", "the body must be a JSON object")
    lesson, position, client_id, seq = (body.get("lesson"), body.get("position", 0),
                                        body.get("client_id"), body.get("seq"))
    if not isinstance(lesson, int) or isinstance(lesson, bool) or not 0 < lesson <= MAX_ID:
        raise ProgressError("lesson", "lesson must be a lesson id")
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= 64:
        raise ProgressError("client_id", "client_id must be a text of 1 to 64 characters")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**31:
        raise ProgressError("seq", "seq must be a non-negative integer")
    if not isinstance(position, (int, float)) or isinstance(position, bool) or position != position:
        raise ProgressError("position", "position must be a number of seconds")
    return lesson, body.get("intervals", []), float(position), client_id, seq


# Lesson facts the hot path needs, cached per process for a short while: a heartbeat should
# not load the course, its trainers and regions (1,000 heartbeats/s on two workers).
_LESSON_CACHE: dict[int, tuple[float, tuple]] = {}
LESSON_CACHE_SECONDS = 30.0


def _lesson_facts(lesson_id: int, now: float):
    hit = _LESSON_CACHE.get(lesson_id)
    if hit is not None and now - hit[0] < LESSON_CACHE_SECONDS:
        return hit[1]
    row = db.session.execute(select(Lesson.kind, Lesson.duration, Lesson.asset_id, Course.published, Course.id)
                             .join(Course, Course.id == Lesson.course_id).where(Lesson.id == lesson_id)).first()
    facts = None
    if row is not None:
        duration = row.duration
        if not duration and row.kind in (LessonKind.video, LessonKind.audio):
            duration = lesson_duration(db.session.get(Lesson, lesson_id))
        facts = (row.kind, duration, row.published, row.id)
    if facts is not None and facts[1]:
        _LESSON_CACHE[lesson_id] = (now, facts)
    return facts


class NeedsSession(Exception):
    """A heartbeat run on a bare connection (``store=``) needs the ORM session after all: it is
    the lesson's first (the progress row is created) or it completes something. The caller rolls
    back and runs it again the ordinary way."""


def record_heartbeat(user_id: int, body, now: float | None = None, store=None) -> ProgressResult:
    """Apply one heartbeat: idempotent per (client_id, seq), never goes backwards.

    The hot path is four prepared statements on the request's connection: read the progress
    row, insert-or-ignore the heartbeat (the idempotency key), then a conditional update. On
    SQLite the write lock is held from the insert to the commit, so the writes come last and
    together. When the conditional update finds the row changed by a concurrent heartbeat, the
    row is read again (under the write lock on SQLite, FOR UPDATE on PostgreSQL) and the merge is
    redone. A refused heartbeat raises; the request then rolls back, insert included.

    With ``store`` (lms.learning.store) every write goes through that store's connection and
    ``NeedsSession`` is raised where the ORM would have to write. An ``atomic`` store (PostgreSQL's
    fast path) reads whether the heartbeat is stored already with the row and writes the update and
    the insert in one statement; when the row changed since it was read, nothing is written and
    ``NeedsSession`` hands the heartbeat to Flask, which redoes it in a transaction.
    """
    lesson_id, raw_intervals, position, client_id, seq = parse_heartbeat(body)
    now = time.time() if now is None else now
    facts = _lesson_facts(lesson_id, now)
    if facts is None:
        raise ProgressError("lesson", "no such lesson", 404)
    kind, duration, _published, course_id = facts
    # Checked on every heartbeat, never from the cache above: unpublishing refuses the next one.
    if hasattr(store, "lesson_open"):  # the fast paths' stores read it with the progress row
        allowed = store.lesson_open(user_id, lesson_id)  # (a staff preview goes to Flask)
    else:
        allowed = access.may_record(user_id, lesson_id, course_id, getattr(store, "dbapi", None))
    if not allowed:
        raise ProgressError("lesson", "no such lesson", 404)
    is_media = kind in (LessonKind.video, LessonKind.audio)
    if is_media and not duration:
        raise ProgressError("duration", "this lesson's media is not ready")
    try:
        claimed = iv.parse(raw_intervals, duration) if is_media else []
    except iv.IntervalError as exc:
        raise ProgressError(exc.code, exc.message) from None
    claimed_total = iv.total(claimed)
    bare = store is not None
    store = store or store_for(db.session.connection())
    row = store.read(user_id, lesson_id)
    if row is None:
        if bare:
            raise NeedsSession
        get_progress(user_id, lesson_id, create=True)
        row = store.read(user_id, lesson_id)
    stamp = utcnow()

    def apply(current):
        values = {"id": current.id, "intervals": current.intervals, "watched_seconds": current.watched_seconds,
                  "coverage": current.coverage, "position": current.position, "paid_until": current.paid_until,
                  "last_heartbeat_at": current.last_heartbeat_at, "last_client_id": client_id, "last_seq": seq,
                  "updated_at": stamp}
        if is_media:
            clock = iv.ClaimClock(current.paid_until, current.last_heartbeat_at)
            clock.charge(claimed_total, now, current.opened_at.timestamp() if current.opened_at else None)
            merged = iv.merge([tuple(x) for x in current.intervals or []], claimed)
            watched = max(current.watched_seconds or 0.0, iv.total(merged))
            values.update(intervals=[[round(a, 2), round(b, 2)] for a, b in merged], watched_seconds=watched,
                          coverage=max(current.coverage or 0.0, min(1.0, watched / duration)),
                          paid_until=clock.paid_until, last_heartbeat_at=clock.last_at)
            if 0 <= position <= duration and (current.last_client_id != client_id
                                              or (current.last_seq or -1) < seq):
                values["position"] = position
        return values

    if row.seen:
        return _result_row(row, duplicate=True)  # a retry of one already applied
    try:
        values = apply(row)
    except iv.IntervalError as exc:
        atomic = getattr(store, "atomic", False)  # its read said whether the heartbeat is stored
        if not atomic and _heartbeat_seen(user_id, client_id, seq):
            return _result_row(row, duplicate=True)  # a retry of one already applied
        raise ProgressError(exc.code, exc.message) from None
    heartbeat = {"user_id": user_id, "client_id": client_id, "seq": seq, "lesson_id": lesson_id,
                 "claimed_seconds": claimed_total, "received_at": stamp}
    if bare and row.completed_at is None and _may_complete(kind, values["watched_seconds"], duration,
                                                           row.opened_at, now):
        raise NeedsSession  # before writing: an atomic store could not take its write back
    if getattr(store, "atomic", False):
        stored = store.write(heartbeat, values, version=row.updated_at)
        if stored is None:
            raise NeedsSession  # another tab changed the row: Flask redoes it under FOR UPDATE
        if not stored:
            return _result_row(row, duplicate=True)
        return ProgressResult(values["watched_seconds"], values["coverage"], row.completed_at is not None)
    if not store.insert_heartbeat(heartbeat):
        return _result_row(row, duplicate=True)
    if store.update(values, version=row.updated_at) != 1:
        row = store.read(user_id, lesson_id, lock=True)
        try:
            values = apply(row)
        except iv.IntervalError as exc:
            raise ProgressError(exc.code, exc.message) from None
        store.update(values)
    watched, coverage = values["watched_seconds"], values["coverage"]
    completed = row.completed_at is not None
    if not completed and _may_complete(kind, watched, duration, row.opened_at, now):
        if bare:
            raise NeedsSession
        progress = db.session.get(Progress, row.id)
        db.session.refresh(progress)
        completed = check_lesson_complete(progress, db.session.get(Lesson, lesson_id), now)
    return ProgressResult(watched, coverage, completed)


def _heartbeat_seen(user_id, client_id, seq) -> bool:
    return db.session.scalar(select(Heartbeat.id).where(
        Heartbeat.user_id == user_id, Heartbeat.client_id == client_id, Heartbeat.seq == seq)) is not None


def _result_row(row, duplicate=False) -> ProgressResult:
    return ProgressResult(row.watched_seconds, row.coverage, row.completed_at is not None, duplicate)


def _may_complete(kind, watched, duration, opened_at, now) -> bool:
    if kind in (LessonKind.video, LessonKind.audio):
        return completion.media_lesson_complete(watched, duration or 0,
                                                float(get_setting("learning.completion_threshold")))
    return opened_at is not None


def lesson_duration(lesson: Lesson) -> float | None:
    if lesson.duration:
        return lesson.duration
    if lesson.is_media and lesson.asset_id:
        from courses.playback import playback

        info = playback(lesson.asset_id)
        if info and info.get("duration"):
            lesson.duration = float(info["duration"])
            return lesson.duration
    return None


def check_lesson_complete(row: Progress, lesson: Lesson, now: float | None = None) -> bool:
    """Record the lesson's completion once, then see whether the course is complete."""
    if row.completed_at is not None:
        return True
    done = False
    if lesson.is_media:
        duration = lesson_duration(lesson) or 0
        done = completion.media_lesson_complete(
            row.watched_seconds, duration, float(get_setting("learning.completion_threshold")))
    elif lesson.kind is LessonKind.document and row.opened_at is not None:
        now = time.time() if now is None else now
        done = completion.document_complete(now - row.opened_at.timestamp(),
                                            int(get_setting("learning.document_seconds")))
    elif lesson.kind is LessonKind.text:
        done = row.opened_at is not None
    if done:
        row.completed_at = utcnow()
        db.session.flush()
        check_course_complete(row.user_id, lesson.course)
    return done


def complete_reading(user_id: int, lesson: Lesson) -> bool:
    """The learner says they have read a document or text lesson (works without JS)."""
    row = get_progress(user_id, lesson.id, create=True)
    return check_lesson_complete(row, lesson)


def completed_lesson_ids(user_id: int, course: Course) -> set[int]:
    ids = [ls.id for ls in course.lessons]
    if not ids:
        return set()
    return set(db.session.scalars(select(Progress.lesson_id).where(
        Progress.user_id == user_id, Progress.lesson_id.in_(ids), Progress.completed_at.is_not(None))))


def quiz_passed(user_id: int, quiz: Quiz | None) -> bool:
    if quiz is None:
        return False
    return db.session.scalar(select(QuizAttempt.id).where(
        QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz.id,
        QuizAttempt.passed.is_(True)).limit(1)) is not None


def check_course_complete(user_id: int, course: Course) -> bool:
    enrolment = ensure_enrolment(user_id, course.id)
    if enrolment.completed_at is not None:
        return True
    done_ids = completed_lesson_ids(user_id, course)
    has_quiz = course.quiz is not None and bool(course.quiz.questions)
    if not completion.course_complete([ls.id in done_ids for ls in course.lessons if ls.required],
                                      has_quiz, has_quiz and quiz_passed(user_id, course.quiz)):
        return False
    enrolment.completed_at = utcnow()
    db.session.flush()
    issue_certificate(user_id, course)
    course_completed.send(course, course_id=course.id, user_id=user_id)
    return True


def submit_quiz(user_id: int, quiz: Quiz, answers: list[list[int]]) -> QuizAttempt:
    keys = [q.answer for q in quiz.questions]
    score = completion.score_quiz(keys, answers)
    attempt = QuizAttempt(quiz_id=quiz.id, user_id=user_id, answers=answers, score=score,
                          passed=completion.quiz_passed(score, quiz.pass_mark), created_at=utcnow())
    db.session.add(attempt)
    db.session.flush()
    if attempt.passed:
        check_course_complete(user_id, quiz.course)
    return attempt


# Crockford-style alphabet: no 0/O, 1/I/L, so a code read aloud or typed from paper survives.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


def _certificate_id_number(user) -> str:
    """The ID number printed on a certificate, masked the one way (first 6 + last 4).

    A learner linked to a registry member gets the member's ID number, whatever they sign in
    with. A learner outside the registry who signs in with an ID number gets that one; one who
    signs in with a phone gets none (a phone number is not an identity document).
    """
    if user.member_id:
        from lms.households.models import Member
        from lms.households.services import cipher

        member = db.session.get(Member, user.member_id)
        if member is not None:
            return mask_id(cipher().decrypt(member.id_enc))
    hint = user.login_hint or ""
    return hint if len(hint) >= 15 else ""  # an 11-digit phone's mask is not an ID number


def issue_certificate(user_id: int, course: Course) -> Certificate:
    existing = db.session.scalar(select(Certificate).where(
        Certificate.user_id == user_id, Certificate.course_id == course.id))
    if existing is not None:
        return existing
    from lms.accounts.models import User

    user = db.session.get(User, user_id)
    issued = utcnow()
    cert = Certificate(
        number="", code=_new_code(), user_id=user_id, course_id=course.id, issued_at=issued,
        learner_name=user.display_name or user.shown_name, masked_id=_certificate_id_number(user),
        course_title=course.title, skill_name=course.skill.name, programme_name=course.programme.name,
        trainer_name=", ".join(t.shown_name for t in course.trainers)[:64])
    db.session.add(cert)
    db.session.flush()
    cert.number = f"XX{issued:%Y}{cert.id:07d}"
    db.session.flush()
    return cert


def document_seconds() -> int:
    return int(get_setting("learning.document_seconds"))
