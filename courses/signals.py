"""Signals other areas subscribe to.

Both are sent inside the transaction that made the change, with a ``course_id`` keyword argument;
a receiver that needs a job writes it to the outbox (``lms.queue.enqueue``) in that same
transaction, so the job exists exactly when the change commits. Receivers flush, never commit.

``course_published`` — a course was published, or a published course was edited (the search area
indexes it again). ``course_unpublished`` — a course was taken down (search drops it).
"""
from blinker import Namespace

_signals = Namespace()

course_published = _signals.signal("course-published")
course_unpublished = _signals.signal("course-unpublished")
