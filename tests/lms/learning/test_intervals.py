import pytest

from lms.learning import intervals as iv
from lms.learning.intervals import ClaimClock, IntervalError


def test_merge_joins_overlaps_and_touching_and_sorts():
    assert iv.merge([(10, 20), (0, 5)], [(4, 11), (30, 31)]) == [(0, 20), (30, 31)]
    assert iv.merge([(0, 5)], [(5, 8)]) == [(0, 8)]


def test_replays_add_nothing():
    watched = iv.merge([(0, 60)])
    assert iv.total(iv.merge(watched, [(10, 50), (0, 60)])) == 60


def test_merge_is_idempotent_and_order_free():
    a, b = [(0, 10), (40, 50)], [(5, 45)]
    assert iv.merge(a, b) == iv.merge(b, a) == iv.merge(iv.merge(a, b), b) == [(0, 50)]


def test_total_never_goes_backwards_whatever_arrives():
    watched = []
    for claim in ([(0, 30)], [(100, 110)], [(5, 6)], [], [(25, 105)]):
        before = iv.total(watched)
        watched = iv.merge(watched, claim)
        assert iv.total(watched) >= before
    assert watched == [(0, 110)]


def test_coverage_is_bounded():
    assert iv.coverage([(0, 50), (25, 100)], 100) == 1.0
    assert iv.coverage([(0, 45)], 100) == 0.45
    assert iv.coverage([(0, 5)], 0) == 0.0


@pytest.mark.parametrize("raw,code", [
    ([[5, 2]], "interval_inverted"),
    ([[-1, 2]], "interval_range"),
    ([[0, 130]], "interval_range"),
    ([["a", 2]], "interval_type"),
    ([[1, 2, 3]], "interval_type"),
    ([[True, 2]], "interval_type"),
    ([[0, float("nan")]], "interval_type"),
    ("0-10", "intervals_type"),
])
def test_parse_rejects(raw, code):
    with pytest.raises(IntervalError) as err:
        iv.parse(raw, 120.0)
    assert err.value.code == code


def test_parse_clamps_small_overrun_and_drops_empty():
    assert iv.parse([[100, 120.6], [3, 3]], 120.0) == [(100.0, 120.0)]


def test_claim_clock_accepts_real_time_playback():
    clock = ClaimClock(None, None)
    t = 1000.0
    for _ in range(20):
        t += 15
        clock.charge(15, t)


def test_claim_clock_rejects_more_than_could_have_played():
    clock = ClaimClock(None, None)
    clock.charge(15, 1000.0)
    with pytest.raises(IntervalError) as err:
        clock.charge(120, 1001.0)
    assert err.value.code == "too_fast"


def test_claim_clock_first_heartbeat_cannot_claim_the_whole_video():
    with pytest.raises(IntervalError):
        ClaimClock(None, None).charge(600, 1000.0)


def test_claim_clock_first_heartbeat_paid_since_page_opened():
    ClaimClock(None, None).charge(300, 1000.0, opened_at=690.0)


def test_offline_backlog_flushes_whole_but_not_more():
    clock = ClaimClock(None, None)
    clock.charge(15, 1000.0)
    # ten minutes offline while playing: 40 queued heartbeats arrive back to back
    now = 1600.0
    for i in range(40):
        clock.charge(15, now + i * 0.02)
    with pytest.raises(IntervalError):
        clock.charge(60, now + 1)


def test_claim_clock_rejects_sustained_double_speed():
    clock = ClaimClock(None, None)
    clock.charge(15, 1000.0)
    with pytest.raises(IntervalError):
        for i in range(1, 10):
            clock.charge(15, 1000.0 + i * 7.5)
