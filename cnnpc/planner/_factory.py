"""One place that turns user-level choices (model, device, links, conventions) into a Planner."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from cnnpc.codec import CodecChoice
from cnnpc.errors import InputError
from cnnpc.latency import CNNPC_OVERHEAD_MS, Calibration, Conventions, find_calibration
from cnnpc.planner._exact import Planner
from cnnpc.profiles import Profile, load_profile
from cnnpc.records import MBIT_SI, LinkSetting, check_number

CONVENTIONS = ("si", "cnnpc")


@dataclass(frozen=True)
class LinkOptions:
    """Everything but the edge->cloud rate that prices a plan, validated once: the one object
    the commands (plan, search, sweep, upload-plan) and their settings pass around.

    Latencies are one-way (ms); a plan pays a used link's latency there and back. A profile
    calibrated on this host (`cnnpc validate --calibrate`) adds its measured fixed costs: each
    link's per-message cost, and the runtime's per-request cost as the overhead unless
    `overhead_ms` is given.
    """

    uplink_mbps: float = 20.0
    uplink_latency_ms: float = 0.0
    latency_ms: float = 0.0
    conventions: str = "si"
    overhead_ms: float | None = None
    prune_compute: str = "none"
    end_memory_mb: float | None = None
    """The end device's room for its part (MB of weights); None: no limit."""

    def __post_init__(self) -> None:
        check_number("--uplink", self.uplink_mbps, strict=True)
        if self.end_memory_mb is not None:
            check_number("--end-memory", self.end_memory_mb, strict=True)
        check_number("--uplink-latency", self.uplink_latency_ms)
        check_number("--latency", self.latency_ms)
        if self.overhead_ms is not None:
            check_number("--overhead-ms", self.overhead_ms)
        if self.conventions not in CONVENTIONS:
            raise InputError(
                f"unknown conventions {self.conventions!r} (valid: {', '.join(CONVENTIONS)})"
            )
        if self.prune_compute not in ("none", "linear"):
            raise InputError(
                f"prune_compute must be 'none' or 'linear', got {self.prune_compute!r}"
            )

    def links(
        self, profile: Profile, bandwidth_mbps: float, calibration: Calibration | None = None
    ) -> LinkSetting:
        mbit = profile.source_mbit_bits if self.conventions == "cnnpc" else MBIT_SI
        return LinkSetting(
            uplink_mbps=self.uplink_mbps,
            bandwidth_mbps=bandwidth_mbps,
            mbit_bits=mbit,
            uplink_latency_ms=self.uplink_latency_ms,
            latency_ms=self.latency_ms,
            uplink_message_ms=0.0 if calibration is None else calibration.uplink_message_ms,
            message_ms=0.0 if calibration is None else calibration.message_ms,
        )

    def conventions_for(self, calibration: Calibration | None = None) -> Conventions:
        overhead = CNNPC_OVERHEAD_MS if calibration is None else calibration.runtime_ms
        return Conventions(
            overhead_ms=overhead if self.overhead_ms is None else self.overhead_ms,
            prune_compute="linear" if self.prune_compute == "linear" else "none",
        )

    def planner(
        self,
        profile: Profile,
        bandwidth_mbps: float,
        codecs: CodecChoice | None = None,
        *,
        radio: str | None = None,
        throughput: bool = False,
    ) -> Planner:
        """The planner of `profile` at `bandwidth_mbps` (`codecs`: the split tensors' codec
        choice; None: int8 only, as before codecs; `radio`: the phone's radio that prices
        energy, None: the profile's first; `throughput`: plans carry their pipeline stages)."""
        calibration = find_calibration(profile.model, profile.device)
        links = self.links(profile, bandwidth_mbps, calibration)
        conventions = self.conventions_for(calibration)
        return Planner(
            profile,
            links,
            conventions,
            self.end_memory_mb,
            codecs,
            radio=radio,
            throughput=throughput,
        )

    def stored(self) -> dict[str, Any]:
        """What a stored search records of these options beyond its links (`links` has the
        rates, latencies and the unit the conventions resolve to); the end part's limit only
        when one was set, so a search without it records what it always did."""
        stored: dict[str, Any] = {
            "conventions": self.conventions,
            "overhead_ms": self.conventions_for().overhead_ms,
            "prune_compute": self.prune_compute,
        }
        if self.end_memory_mb is not None:
            stored["end_memory_mb"] = self.end_memory_mb
        return stored

    @staticmethod
    def from_stored(links: LinkSetting, extra: Mapping[str, Any]) -> LinkOptions:
        """The options of a stored search: its links and what `stored` recorded."""
        overhead = extra.get("overhead_ms")
        limit = extra.get("end_memory_mb")
        return LinkOptions(
            uplink_mbps=links.uplink_mbps,
            uplink_latency_ms=links.uplink_latency_ms,
            latency_ms=links.latency_ms,
            conventions=str(extra.get("conventions", "si")),
            overhead_ms=None if overhead is None else float(overhead),
            prune_compute=str(extra.get("prune_compute", "none")),
            end_memory_mb=None if limit is None else float(limit),
        )


def planner_for(
    model: str,
    device: str,
    *,
    bandwidth_mbps: float,
    uplink_mbps: float = 20.0,
    conventions: str = "si",
    overhead_ms: float | None = None,
    prune_compute: str = "none",
    options: LinkOptions | None = None,
    codecs: CodecChoice | None = None,
    radio: str | None = None,
    throughput: bool = False,
) -> Planner:
    """Planner of a shipped profile; `conventions="cnnpc"` uses the unit of CNNPC's tables.

    `options` (when given) replaces the separate link keywords; `codecs`: the split tensors'
    codec choice (None: int8 only); `radio`, `throughput`: as `LinkOptions.planner`.
    """
    if options is None:
        options = LinkOptions(
            uplink_mbps=uplink_mbps,
            conventions=conventions,
            overhead_ms=overhead_ms,
            prune_compute=prune_compute,
        )
    profile = load_profile(model, device)
    return options.planner(profile, bandwidth_mbps, codecs, radio=radio, throughput=throughput)


class StoredSearch(Protocol):
    """What a stored search records of its profile and links (storage's `SearchRecord`)."""

    @property
    def model(self) -> str: ...

    @property
    def device(self) -> str: ...

    @property
    def links(self) -> LinkSetting: ...

    @property
    def extra(self) -> Mapping[str, Any]: ...


def search_planner(search: StoredSearch) -> tuple[LinkOptions, Planner]:
    """The link options a stored search priced with, and its planner on the stored links
    (deploy, plan sets and export read them here)."""
    options = LinkOptions.from_stored(search.links, search.extra)
    calibration = find_calibration(search.model, search.device)  # an overhead not stored
    conventions = options.conventions_for(calibration)
    profile = load_profile(search.model, search.device)
    planner = Planner(profile, search.links, conventions, options.end_memory_mb)
    return options, planner
