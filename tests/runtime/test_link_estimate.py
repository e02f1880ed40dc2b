"""The adaptive client's link estimate: smoothing for noise, a jump for a change of rate."""

from __future__ import annotations

import pytest

from cnnpc.runtime._adaptive import LinkEstimate

TENSOR = 375  # bytes


def _ms(mbps: float) -> float:
    return TENSOR * 8 / (mbps * 1e6) * 1e3


def _estimate(mbps: float) -> LinkEstimate:
    return LinkEstimate(rate_mbps=mbps, fixed_ms=0.0, mbit_bits=1e6)


def test_one_outlier_is_smoothed_and_two_in_a_row_replace_the_estimate():
    link = _estimate(1.0)
    assert link.add(TENSOR, _ms(0.05)) == pytest.approx(0.05)
    assert 0.2 < link.rate_mbps < 0.5  # one slow sample: smoothed, not believed
    link.add(TENSOR, _ms(0.05))
    assert link.rate_mbps == pytest.approx(0.05)  # the second confirms: the link changed
    link.add(TENSOR, _ms(1.0))
    link.add(TENSOR, _ms(0.05))  # a fast outlier, then the rate again: no jump
    assert 0.05 < link.rate_mbps < 0.2
    link.add(TENSOR, _ms(1.0))
    link.add(TENSOR, _ms(1.0))
    assert link.rate_mbps == pytest.approx(1.0)


def test_a_moderate_change_is_followed_by_smoothing_only():
    link = _estimate(1.0)
    for _ in range(3):
        link.add(TENSOR, _ms(0.6))
    assert 0.6 < link.rate_mbps < 0.75
    assert link.add(0, 1.0) is None and link.add(TENSOR, float("nan")) is None
