"""Latency model: what a plan costs on each tier and link, part by part."""

from __future__ import annotations

from cnnpc.latency._calibration import (
    Calibration,
    calibration_path,
    find_calibration,
    read_calibration,
)
from cnnpc.latency._energy import (
    STAGES,
    Energy,
    PhonePower,
    frames_per_s,
    phone_energy,
    stage_ms,
)
from cnnpc.latency._model import (
    CNNPC_OVERHEAD_MS,
    Breakdown,
    Conventions,
    CostTables,
    ProfileArrays,
    PruneCompute,
    breakdown,
    cost_tables,
)

__all__ = [
    "CNNPC_OVERHEAD_MS",
    "STAGES",
    "Breakdown",
    "Calibration",
    "Conventions",
    "CostTables",
    "Energy",
    "PhonePower",
    "ProfileArrays",
    "PruneCompute",
    "breakdown",
    "calibration_path",
    "cost_tables",
    "find_calibration",
    "frames_per_s",
    "phone_energy",
    "read_calibration",
    "stage_ms",
]
