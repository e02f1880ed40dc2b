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
from cnnpc.planner._factory import (
    CONVENTIONS,
    LinkOptions,
    StoredSearch,
    planner_for,
    search_planner,
)
from cnnpc.planner._mincut import TieredCut, price_assignment, solve_tiered_cut

__all__ = [
    "CONVENTIONS",
    "MODES",
    "MODE_LABELS",
    "SINGLE_SPLIT_MODES",
    "LinkOptions",
    "Plan",
    "Planner",
    "StoredSearch",
    "TieredCut",
    "latency_matrix",
    "mode_of",
    "planner_for",
    "price_assignment",
    "search_planner",
    "solve_tiered_cut",
    "traffic_matrix",
]
