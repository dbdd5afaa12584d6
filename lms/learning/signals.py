"""Signals other areas subscribe to.

``course_completed`` is sent once per learner and course, inside the request/CLI transaction
that recorded the completion, with ``course_id`` and ``user_id`` keyword arguments. The skills
area awards the course's skill from it; a receiver flushes and never commits.
"""
from blinker import Namespace

_signals = Namespace()

course_completed = _signals.signal("course-completed")
