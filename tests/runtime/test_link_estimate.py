"""The adaptive client's link estimate: smoothed in log space, so one outlier moves it only part
of the way (a loaded host's slow call is not a slow link) and a lasting change is followed."""

from __future__ import annotations

import pytest

from cnnpc.runtime import LinkEstimate

TENSOR = 375  # bytes


def _ms(mbps: float) -> float:
    return TENSOR * 8 / (mbps * 1e6) * 1e3


def test_an_outlier_moves_the_estimate_part_of_the_way_and_a_change_is_followed():
    link = LinkEstimate(rate_mbps=1.0, fixed_ms=0.0, mbit_bits=1e6)
    assert link.add(TENSOR, _ms(0.05)) == pytest.approx(0.05)
    assert link.rate_mbps == pytest.approx(0.05**0.4)  # 0.30: not believed at once
    link.add(TENSOR, _ms(1.0))
    assert 0.4 < link.rate_mbps < 1.0
    for _ in range(12):
        link.add(TENSOR, _ms(0.05))
    assert link.rate_mbps == pytest.approx(0.05, rel=0.01)
    assert link.add(0, 1.0) is None and link.add(TENSOR, float("nan")) is None
