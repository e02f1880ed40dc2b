"""Plan sets: the plans best somewhere in a bandwidth range, their switching table, and the
rule a runtime uses to pick one under its link estimates (no TensorFlow)."""

from __future__ import annotations

from cnnpc.planset._table import (
    DEFAULT_HYSTERESIS,
    GRID_POINTS,
    PLANSET_FILE,
    PLANSET_KIND,
    PlanSet,
    PlanSetError,
    SetPlan,
    Switch,
    bandwidth_range,
    check_hysteresis,
    grid,
    plan_set_of,
    sweep_plan_set,
    switches,
)

__all__ = [
    "DEFAULT_HYSTERESIS",
    "GRID_POINTS",
    "PLANSET_FILE",
    "PLANSET_KIND",
    "PlanSet",
    "PlanSetError",
    "SetPlan",
    "Switch",
    "bandwidth_range",
    "check_hysteresis",
    "grid",
    "plan_set_of",
    "sweep_plan_set",
    "switches",
]
