"""Latency model: what a plan costs on each tier and link, part by part."""

from __future__ import annotations

from cnnpc.latency._calibration import (
    Calibration,
    calibration_path,
    find_calibration,
    read_calibration,
)
from cnnpc.latency._model import (
    CNNPC_OVERHEAD_MS,
    NO_COMPRESSION,
    Breakdown,
    Compression,
    Conventions,
    CostTables,
    ProfileArrays,
    PruneCompute,
    breakdown,
    cost_tables,
    kept_channels,
)

__all__ = [
    "CNNPC_OVERHEAD_MS",
    "NO_COMPRESSION",
    "Breakdown",
    "Calibration",
    "Compression",
    "Conventions",
    "CostTables",
    "ProfileArrays",
    "PruneCompute",
    "breakdown",
    "calibration_path",
    "cost_tables",
    "find_calibration",
    "kept_channels",
    "read_calibration",
]
