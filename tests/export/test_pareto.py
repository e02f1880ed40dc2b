"""Axis fitting and the staircase front of the Pareto plots."""

from __future__ import annotations

import math

import pytest

from cnnpc.export._pareto import nice_axis, staircase


@pytest.mark.parametrize(
    ("values", "kwargs"),
    [
        ([41.27, 50.86], {"lower": 0.0}),
        ([0.7786, 0.97, 0.93], {"lower": 0.0, "upper": 1.0}),
        ([0.999, 1.0], {"lower": 0.0, "upper": 1.0}),
        ([1270.35, 46.5, 80.1], {}),
        ([5.0], {}),
        ([0.0012, 0.0013], {}),
    ],
)
def test_nice_axis_brackets_the_data_tightly(values, kwargs):
    axis = nice_axis(values, **kwargs)
    assert axis.low <= min(values) and axis.high >= max(values)
    span = max(values) - min(values) or abs(max(values))
    assert axis.high - axis.low <= 3 * span  # fitted: not from zero, not to 120 %
    assert axis.step > 0 and round((axis.high - axis.low) / axis.step, 6) % 1 == 0
    mantissa = axis.step / 10 ** math.floor(math.log10(axis.step))
    assert round(mantissa, 9) in (1, 2, 2.5, 5)
    if "upper" in kwargs:
        assert axis.high <= kwargs["upper"]


def test_accuracy_axis_is_not_zero_to_120_percent():
    axis = nice_axis([0.7786, 0.8169, 0.97], lower=0.0, upper=1.0)
    assert (axis.low, axis.high) == (pytest.approx(0.75), pytest.approx(1.0))


def test_staircase_holds_each_accuracy_until_the_next_plan():
    front = staircase([(50.0, 0.97), (40.0, 0.80), (45.0, 0.93)])
    assert front == (
        (40.0, 0.80),
        (45.0, 0.80),
        (45.0, 0.93),
        (50.0, 0.93),
        (50.0, 0.97),
    )
    assert staircase([]) == ()
