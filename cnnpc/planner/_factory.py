"""One place that turns user-level choices (model, device, links, conventions) into a Planner."""

from __future__ import annotations

from cnnpc.errors import InputError
from cnnpc.latency import CNNPC_OVERHEAD_MS, MBIT_SI, Conventions, Links
from cnnpc.planner._exact import Planner
from cnnpc.profiles import load_profile

CONVENTIONS = ("si", "cnnpc")


def planner_for(
    model: str,
    device: str,
    *,
    bandwidth_mbps: float,
    uplink_mbps: float = 20.0,
    conventions: str = "si",
    overhead_ms: float | None = None,
    prune_compute: str = "none",
) -> Planner:
    """Planner of a shipped profile; `conventions="cnnpc"` uses the unit of CNNPC's tables."""
    if conventions not in CONVENTIONS:
        raise InputError(f"unknown conventions {conventions!r} (valid: {', '.join(CONVENTIONS)})")
    if prune_compute not in ("none", "linear"):
        raise InputError(f"prune_compute must be 'none' or 'linear', got {prune_compute!r}")
    profile = load_profile(model, device)
    mbit = profile.source_mbit_bits if conventions == "cnnpc" else MBIT_SI
    links = Links(uplink_mbps=uplink_mbps, bandwidth_mbps=bandwidth_mbps, mbit_bits=mbit)
    conv = Conventions(
        overhead_ms=CNNPC_OVERHEAD_MS if overhead_ms is None else overhead_ms,
        prune_compute="linear" if prune_compute == "linear" else "none",
    )
    return Planner(profile, links, conv)
