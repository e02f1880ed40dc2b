"""The options every command that prices plans shares (plan, search, sweep, upload-plan): the
model, the device and the link settings, declared once and built into `LinkOptions` here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnpc.jobs._options import option, rate_mbps, time_ms
from cnnpc.planner import LinkOptions


def model_option() -> Any:
    """--model (required) of a command that prices plans."""
    return option("--model", help="model name (see 'cnnpc profiles')")


def device_option() -> Any:
    """--device (required) of a command that prices plans."""
    return option("--device", help="end device profile, e.g. MI8 or MI8SE")


@dataclass(frozen=True, kw_only=True)
class LinkChoice:
    """Everything but the edge->cloud rate that prices a plan, as the command line asks it
    (`link_options()` is the planner's one checked object)."""

    uplink: float = option(
        "--uplink", default=20.0, type=rate_mbps, metavar="MBPS", help="end->edge Mbps (20)"
    )
    uplink_latency: float = option(
        "--uplink-latency",
        default=0.0,
        type=time_ms,
        metavar="MS",
        help="end->edge one-way latency; a plan using the link pays it there and back (0)",
    )
    latency: float = option(
        "--latency",
        default=0.0,
        type=time_ms,
        metavar="MS",
        help="edge->cloud one-way latency; a plan using the link pays it there and back (0)",
    )
    conventions: str = option(
        "--conventions",
        default="si",
        choices=("si", "cnnpc"),
        help="si: 1 Mbps = 10^6 bit/s (default); cnnpc: the unit CNNPC's published tables use "
        "(2^20 bit/s for mobilenet), to reproduce its numbers",
    )
    overhead_ms: float | None = option(
        "--overhead-ms",
        default=None,
        type=time_ms,
        metavar="MS",
        help="fixed per-inference overhead (default 1.66 = CNNPC's 0.53 + 1.13)",
    )
    prune_compute: str = option(
        "--prune-compute",
        default="none",
        choices=("none", "linear"),
        help="none: pruning shrinks transfers only (CNNPC); linear: a segment's time also "
        "scales by the mean kept fraction of its input and output tensors",
    )

    def link_options(self) -> LinkOptions:
        """The planner's link settings (checked there)."""
        return LinkOptions(
            uplink_mbps=self.uplink,
            uplink_latency_ms=self.uplink_latency,
            latency_ms=self.latency,
            conventions=self.conventions,
            overhead_ms=self.overhead_ms,
            prune_compute=self.prune_compute,
        )
