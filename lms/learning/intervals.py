"""Watched-interval arithmetic for honest progress.

Pure functions, no database: the progress service stores the merged list and calls these.
An interval is ``(start, end)`` in media seconds with ``start < end``.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import isfinite

Interval = tuple[float, float]

# Players report slightly different durations than ffprobe (last frame, AAC priming), so a
# claim up to this far past the probed end is clamped instead of rejected.
DURATION_TOLERANCE = 1.0
# Heartbeats are every 15 s; a claim may exceed the wall time since the previous one by this
# much (timer jitter, the pagehide beacon racing the periodic one).
CLAIM_SLACK = 10.0
# Playback-rate allowance: 1x plus 5 % for clock drift between browser and server.
MAX_RATE = 1.05
# Heartbeats queued offline arrive back to back when the link returns; claims may be paid
# for by wall time up to this long before the previous heartbeat (so a queue covering up to
# two hours offline flushes whole) but never by time the learner has not yet lived.
BACKLOG_WINDOW = 2 * 3600.0
# The first heartbeat of a lesson may claim up to one heartbeat period plus slack.
FIRST_CLAIM = 15.0 + CLAIM_SLACK


class IntervalError(ValueError):
    """A heartbeat the server refuses; ``code`` is stable for clients and tests."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def parse(raw, duration: float) -> list[Interval]:
    """Validate a client's interval list against the media duration.

    Rejects anything that is not a list of ``[start, end]`` numbers, inverted or empty
    intervals, and intervals outside ``[0, duration]``. Ends within the tolerance past the
    duration are clamped.
    """
    if not isinstance(raw, list):
        raise IntervalError("intervals_type", "intervals must be a list of [start, end] pairs")
    if len(raw) > 1000:
        raise IntervalError("intervals_count", "too many intervals in one heartbeat")
    result: list[Interval] = []
    for item in raw:
        if (not isinstance(item, (list, tuple)) or len(item) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in item)
                or not all(isfinite(v) for v in item)):
            raise IntervalError("interval_type", "each interval must be two numbers [start, end]")
        start, end = float(item[0]), float(item[1])
        if end < start:
            raise IntervalError("interval_inverted", f"interval [{start}, {end}] ends before it starts")
        if start < 0 or end > duration + DURATION_TOLERANCE:
            raise IntervalError(
                "interval_range", f"interval [{start}, {end}] is outside [0, {duration:g}]")
        end = min(end, duration)
        start = min(start, end)
        if end > start:
            result.append((start, end))
    return result


def merge(*lists) -> list[Interval]:
    """Union of any number of interval lists, sorted and non-overlapping."""
    items = sorted(iv for lst in lists for iv in lst)
    merged: list[list[float]] = []
    for start, end in items:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def total(intervals) -> float:
    """Sum of lengths; on a merged list, the unique seconds watched."""
    return sum(e - s for s, e in intervals)


def coverage(intervals, duration: float) -> float:
    if duration <= 0:
        return 0.0
    return min(1.0, total(merge(intervals)) / duration)


@dataclass
class ClaimClock:
    """Per-progress pacing state: claims are paid for with wall time.

    ``paid_until`` is the wall time (epoch seconds) up to which claimed playback has been
    accounted; ``last_at`` is when the previous heartbeat was accepted.
    """
    paid_until: float | None
    last_at: float | None

    def charge(self, claimed: float, now: float, opened_at: float | None = None) -> None:
        """Charge ``claimed`` seconds of playback at server time ``now``; raise if they could not
        have been played since the previous heartbeat (with slack and the offline backlog)."""
        if self.paid_until is None or self.last_at is None:
            base = now - FIRST_CLAIM
            # The lesson page records when it was opened: playback since then is payable.
            if opened_at is not None:
                base = min(base, max(opened_at, now - BACKLOG_WINDOW))
        else:
            base = max(self.paid_until, self.last_at - BACKLOG_WINDOW)
        paid = base + claimed / MAX_RATE
        if paid > now + CLAIM_SLACK:
            raise IntervalError(
                "too_fast",
                f"{claimed:.0f} s claimed, more than could have been played since the previous heartbeat")
        self.paid_until = paid
        self.last_at = now
