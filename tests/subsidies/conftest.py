"""The subsidy tests' fixtures live in ``tests.subsidies.fixtures`` (a plugin, so the every-page test
can use them too); here, the short names this folder's tests use."""
from __future__ import annotations

import pytest


@pytest.fixture
def rule(subsidy_rule):
    return subsidy_rule


@pytest.fixture
def world(subsidy_world):
    return subsidy_world
