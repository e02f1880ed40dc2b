"""Exact partition planner over end / edge / cloud layouts for a fixed compression."""

from __future__ import annotations

from cnnpc.planner._exact import Planner
from cnnpc.planner._factory import (
    CONVENTIONS,
    LinkOptions,
    StoredSearch,
    planner_for,
    search_planner,
)
from cnnpc.planner._matrices import (
    OBJECTIVES,
    energy_matrix,
    latency_matrix,
    slowest_matrix,
    traffic_matrix,
)
from cnnpc.planner._mincut import TieredCut, price_assignment, solve_tiered_cut
from cnnpc.planner._parts import (
    BYTES_PER_PARAM,
    DEPLOYED_FORMAT,
    MB,
    PartSizes,
    PartWeights,
)
from cnnpc.planner._plans import (
    LINK_NAMES,
    MODE_LABELS,
    MODES,
    SINGLE_SPLIT_MODES,
    LinkCodec,
    Plan,
    mode_of,
)

__all__ = [
    "BYTES_PER_PARAM",
    "CONVENTIONS",
    "DEPLOYED_FORMAT",
    "LINK_NAMES",
    "MB",
    "MODES",
    "MODE_LABELS",
    "OBJECTIVES",
    "SINGLE_SPLIT_MODES",
    "LinkCodec",
    "LinkOptions",
    "PartSizes",
    "PartWeights",
    "Plan",
    "Planner",
    "StoredSearch",
    "TieredCut",
    "energy_matrix",
    "latency_matrix",
    "mode_of",
    "planner_for",
    "price_assignment",
    "search_planner",
    "slowest_matrix",
    "solve_tiered_cut",
    "traffic_matrix",
]
