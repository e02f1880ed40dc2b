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

__all__ = [
    "MODES",
    "MODE_LABELS",
    "SINGLE_SPLIT_MODES",
    "Plan",
    "Planner",
    "latency_matrix",
    "mode_of",
    "traffic_matrix",
]
