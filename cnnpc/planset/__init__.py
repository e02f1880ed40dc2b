"""Plan sets: finding the plans best somewhere in a bandwidth range (no TensorFlow). The set,
its switching table and the rule a runtime picks a plan by are `cnnpc.records`' PlanSet."""

from __future__ import annotations

from cnnpc.planset._table import (
    DEFAULT_HYSTERESIS,
    GRID_POINTS,
    bandwidth_range,
    check_hysteresis,
    grid,
    plan_set_of,
    sweep_plan_set,
)

__all__ = [
    "DEFAULT_HYSTERESIS",
    "GRID_POINTS",
    "bandwidth_range",
    "check_hysteresis",
    "grid",
    "plan_set_of",
    "sweep_plan_set",
]
