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
    MAX_MBPS,
    MAX_MS,
    MBIT_BINARY,
    MBIT_SI,
    MIN_MBPS,
    NO_COMPRESSION,
    Breakdown,
    Compression,
    Conventions,
    CostTables,
    Links,
    ProfileArrays,
    PruneCompute,
    breakdown,
    check_ms,
    check_number,
    check_rate,
    cost_tables,
    kept_channels,
)

__all__ = [
    "CNNPC_OVERHEAD_MS",
    "MAX_MBPS",
    "MAX_MS",
    "MBIT_BINARY",
    "MBIT_SI",
    "MIN_MBPS",
    "NO_COMPRESSION",
    "Breakdown",
    "Calibration",
    "Compression",
    "Conventions",
    "CostTables",
    "Links",
    "ProfileArrays",
    "PruneCompute",
    "breakdown",
    "calibration_path",
    "check_ms",
    "check_number",
    "check_rate",
    "cost_tables",
    "find_calibration",
    "kept_channels",
    "read_calibration",
]
