"""Completion rules (pure): lessons, quizzes, courses."""
from __future__ import annotations

import math

DEFAULT_THRESHOLD = 0.9
# A document counts as read after this many seconds open (setting learning.document_seconds).
DEFAULT_DOCUMENT_SECONDS = 30


def media_lesson_complete(watched_seconds: float, duration: float, threshold: float) -> bool:
    """Video and audio: unique watched seconds reach the threshold share of the duration."""
    if duration <= 0:
        return False
    # 1e-6: merged float intervals can fall a hair short of an exact 90 %.
    return watched_seconds + 1e-6 >= threshold * duration


def document_complete(open_seconds: float, minimum: float) -> bool:
    return open_seconds >= minimum


def document_seconds_left(open_seconds: float, minimum: float) -> int:
    """Whole seconds still to read before ``document_complete`` holds (0 once it does)."""
    return 0 if document_complete(open_seconds, minimum) else max(1, math.ceil(minimum - open_seconds))


def score_quiz(answer_keys: list[list[int]], given: list[list[int]]) -> float:
    """Share of questions answered exactly right (a multiple-choice question needs every
    correct choice and no wrong one)."""
    if not answer_keys:
        return 1.0
    right = sum(1 for key, ans in zip(answer_keys, given) if sorted(set(ans)) == sorted(key))
    return right / len(answer_keys)


def quiz_passed(score: float, pass_mark: float) -> bool:
    return score + 1e-9 >= pass_mark


def course_complete(required_done: list[bool], has_quiz: bool, quiz_ok: bool) -> bool:
    """Every required lesson complete and, when the course has a quiz, the quiz passed."""
    return all(required_done) and (quiz_ok or not has_quiz)
