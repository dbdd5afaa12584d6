"""Signals other areas subscribe to (the skill-goal roll-ups in ``lms.stats`` move by them).

``awards_changing`` is sent just before awards or revocations for members of the registry are
written, with ``household_ids`` and ``village_codes``. A receiver may return a context manager:
the skills area enters each one around the change, so a receiver can count the households before
and after it (one statement for a batch spread over many villages, not a recount per village).

``awards_changed`` is sent after awards or revocations were flushed, with the ``village_codes``
whose figures must be recounted (people outside the registry, and imports that batch their
villages). Both travel inside the caller's transaction; receivers flush, never commit.
"""
from blinker import Namespace

_signals = Namespace()

awards_changing = _signals.signal("awards-changing")
awards_changed = _signals.signal("awards-changed")
