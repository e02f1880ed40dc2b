"""Exact partition planner over end / edge / cloud layouts for a fixed compression."""

from __future__ import annotations

from cnnpc.planner._exact import (
    LINK_NAMES,
    MODE_LABELS,
    MODES,
    SINGLE_SPLIT_MODES,
    LinkCodec,
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
from cnnpc.planner._parts import (
    BYTES_PER_PARAM,
    DEPLOYED_FORMAT,
    MB,
    PartSizes,
    PartWeights,
)

__all__ = [
    "BYTES_PER_PARAM",
    "CONVENTIONS",
    "DEPLOYED_FORMAT",
    "LINK_NAMES",
    "MB",
    "MODES",
    "MODE_LABELS",
    "SINGLE_SPLIT_MODES",
    "LinkCodec",
    "LinkOptions",
    "PartSizes",
    "PartWeights",
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
