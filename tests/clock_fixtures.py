"""The fake clock of every test that moves time (a pytest plugin, tests/conftest.py).

Each module reads ``time.time()`` through its own ``time`` name; a test's ``clock`` replaces that name
in the modules it names, and the test moves ``clock.now``. ``clock`` moves the heartbeat pacing
(``lms.learning.services``) only: the session, the idle sign-out and the fast path keep real time.
The session tests (tests/security/conftest.py) move all four with one clock: ``fake_clock`` is the
factory both use.
"""
from __future__ import annotations

import time

import pytest


class Clock:
    """Stands in for the ``time`` module: ``time()`` answers ``now``, which the test sets."""

    def __init__(self):
        self.now = time.time()

    def time(self):
        return self.now


@pytest.fixture
def fake_clock(monkeypatch):
    """``fake_clock(*modules)``: one Clock that each of ``modules`` reads as its ``time``."""

    def install(*modules) -> Clock:
        c = Clock()
        for module in modules:
            monkeypatch.setattr(module, "time", c)
        return c

    return install


@pytest.fixture
def clock(fake_clock):
    """The clock of the heartbeat pacing (and a document's reading time)."""
    import lms.learning.services as services

    return fake_clock(services)
