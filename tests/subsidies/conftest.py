"""The subsidy tests' fixtures live in ``tests.subsidies.fixtures`` (a plugin); here, short names."""
from __future__ import annotations

import pytest

from tests.subsidies.fixtures import (COUNTY, DAY, NEIGHBOUR, SIBLING_TOWNSHIP, SIBLING_VILLAGE,  # noqa: F401
                                      TOWNSHIP, VILLAGE, audit_actions, certify, give_account, rows_of)


@pytest.fixture
def rule(subsidy_rule):
    return subsidy_rule


@pytest.fixture
def world(subsidy_world):
    return subsidy_world
