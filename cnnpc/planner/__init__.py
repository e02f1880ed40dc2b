"""Exact partition planner over end / edge / cloud layouts for a fixed compression."""

from __future__ import annotations

from cnnpc.planner._exact import (
    MODE_LABELS,
    MODES,
    SINGLE_SPLIT_MODES,
    Plan,
    Planner,
    latency_matrix,
    mode_of,
    traffic_matrix,
)
from cnnpc.planner._factory import CONVENTIONS, planner_for

__all__ = [
    "CONVENTIONS",
    "MODES",
    "MODE_LABELS",
    "SINGLE_SPLIT_MODES",
    "Plan",
    "Planner",
    "latency_matrix",
    "mode_of",
    "planner_for",
    "traffic_matrix",
]
