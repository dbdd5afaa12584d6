"""The session tests' clock: the pacing of heartbeats, the idle sign-out, the session lifetime and
the fast path all read the one clock (tests/clock_fixtures.py makes it)."""
import pytest


@pytest.fixture
def clock(fake_clock):
    import lms.learning.fastpath as fastpath
    import lms.learning.services as services
    import lms.sessions as sessions

    return fake_clock(services, sessions, fastpath)
