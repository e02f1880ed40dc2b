from __future__ import annotations

import pytest
from deploy.plans import three_tier_plan, workload


@pytest.fixture(scope="session")
def data():
    return workload()


@pytest.fixture(scope="session")
def three_tier():
    return three_tier_plan()[0]
