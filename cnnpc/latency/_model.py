"""End-to-end latency of a plan: compute on each tier + transfers on each link + fixed overhead.

A plan on a profile with N segments is a pair of boundaries (a, b), 0 <= a <= b <= N: the end device
runs segments [0, a), the edge [a, b), the cloud [b, N). Whenever a < N the tensor at boundary a
crosses end->edge; whenever b < N the tensor at boundary b crosses edge->cloud. With a == b < N the
edge only relays the tensor (end->cloud through the edge: both links carry it). The result's way
back is covered by the fixed overhead, as in CNNPC.

A split tensor (boundaries 1..N-1) travels under a codec (`cnnpc.codec`): its int8 bytes times
bits / 8 over the coder's ratio, plus the codec's encode and decode time on the link that carries
it. A relayed tensor is forwarded as coded (one codec on both links, coded and decoded once). The
default codec (int8, no coder) prices exactly as before codecs existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from cnnpc.codec import DEFAULT_CHOICE, DEFAULT_CODEC, Codec, CodecChoice
from cnnpc.errors import InputError
from cnnpc.profiles import Profile
from cnnpc.records import NO_PRUNING, FloatArray, KeepConfig, LinkSetting, check_ms, check_number

PruneCompute = Literal["none", "linear"]
CNNPC_OVERHEAD_MS = 0.53 + 1.13


@dataclass(frozen=True)
class Conventions:
    """How bytes, overhead and pruned compute are counted.

    prune_compute:
      - "none": pruning shrinks only the transferred tensor (CNNPC's rule).
      - "linear": a segment's time on every tier is multiplied by (k_in + k_out) / 2, where k_in is
        the kept fraction of the tensor entering it (1 for the raw input) and k_out of the tensor
        leaving it (1 for the model output). First-order: the layers next to a pruned tensor lose
        work in proportion to the channels removed, layers deeper inside the segment keep theirs.
        It is conservative for a one-layer segment (whose FLOPs scale by k_in * k_out).
    """

    overhead_ms: float = CNNPC_OVERHEAD_MS
    bytes_per_element: float | None = None  # None: the profile's own (1 for int8 features)
    prune_compute: PruneCompute = "none"

    def __post_init__(self) -> None:
        check_ms("overhead_ms", self.overhead_ms)
        if self.bytes_per_element is not None:
            check_number("bytes_per_element", self.bytes_per_element, strict=True)
        if self.prune_compute not in ("none", "linear"):
            raise InputError(
                f"prune_compute must be 'none' or 'linear', got {self.prune_compute!r}"
            )


@dataclass(frozen=True)
class Breakdown:
    """Every part of a plan's latency (ms) and the bytes on each link."""

    end_ms: float
    uplink_ms: float
    edge_ms: float
    downlink_ms: float
    cloud_ms: float
    overhead_ms: float
    uplink_bytes: float
    downlink_bytes: float

    @property
    def total_ms(self) -> float:
        return (
            self.end_ms
            + self.uplink_ms
            + self.edge_ms
            + self.downlink_ms
            + self.cloud_ms
            + self.overhead_ms
        )

    @property
    def traffic_bytes(self) -> float:
        return self.uplink_bytes + self.downlink_bytes

    def as_dict(self) -> dict[str, float]:
        return {
            "end_ms": self.end_ms,
            "uplink_ms": self.uplink_ms,
            "edge_ms": self.edge_ms,
            "downlink_ms": self.downlink_ms,
            "cloud_ms": self.cloud_ms,
            "overhead_ms": self.overhead_ms,
            "total_ms": self.total_ms,
            "uplink_bytes": self.uplink_bytes,
            "downlink_bytes": self.downlink_bytes,
        }


@dataclass(frozen=True)
class CostTables:
    """Per-segment times and per-boundary transfer costs for one compression, as arrays.

    seg[t][s]: time of segment s on tier t (after the compute rule); up_ms/down_ms[k] and
    bytes[k]: transfer of boundary k (k = 0..N), with boundary N (the output) costing nothing.
    up_ms/down_ms include the link's fixed cost (latency, per-message), which is also kept apart
    (up_fixed_ms/down_fixed_ms) for callers that vary the rate alone (the sweep).
    """

    end: FloatArray
    edge: FloatArray
    cloud: FloatArray
    bytes: FloatArray
    up_ms: FloatArray
    down_ms: FloatArray
    overhead_ms: float
    up_fixed_ms: float = 0.0
    down_fixed_ms: float = 0.0
    codec: Codec = DEFAULT_CODEC
    """The codec of every split tensor (boundaries 1..N-1) in these tables, but those of
    `split_codecs`."""
    codec_ms: FloatArray | None = None
    """Per boundary, the codec's encode + decode time included in up_ms and down_ms (None: 0)."""
    split_codecs: tuple[tuple[int, Codec], ...] = ()
    """Boundaries whose tensor a configuration sends at its own bit width (`KeepConfig.bits`)."""

    def codec_at(self, k: int) -> Codec:
        """The codec of the tensor at boundary k (1..N-1)."""
        return dict(self.split_codecs).get(k, self.codec)

    @property
    def n_segments(self) -> int:
        return int(self.end.shape[0])

    def relay_ms(self, k: int) -> float:
        """What a tensor relayed at boundary k pays once, not on each link: its codec's time."""
        return 0.0 if self.codec_ms is None else float(self.codec_ms[k])


@dataclass(frozen=True)
class ProfileArrays:
    """A profile's numbers as arrays, built once per planner so each solve skips Python loops."""

    names: tuple[str, ...]  # candidate names, boundaries 1..N-1
    channels: FloatArray  # channels at boundaries 1..N-1
    elements: FloatArray  # elements at boundaries 0..N (boundary N, the output, is 0)
    times: dict[str, FloatArray]  # per-tier segment times
    bytes_per_element: float

    @staticmethod
    def of(profile: Profile) -> ProfileArrays:
        return ProfileArrays(
            names=tuple(t.name for t in profile.candidates),
            channels=np.array([t.channels for t in profile.candidates], dtype=np.float64),
            elements=np.array([t.elements for t in profile.boundaries] + [0], dtype=np.float64),
            times={
                tier: np.array([s.on(tier) for s in profile.segments], dtype=np.float64)
                for tier in ("end", "edge", "cloud")
            },
            bytes_per_element=profile.bytes_per_element,
        )


def cost_tables(
    profile: Profile | ProfileArrays,
    links: LinkSetting,
    keep: KeepConfig = NO_PRUNING,
    conventions: Conventions | None = None,
    codec: Codec = DEFAULT_CODEC,
    choice: CodecChoice = DEFAULT_CHOICE,
) -> CostTables:
    """Arrays the planner needs for `profile` under `keep`, `links` and `conventions`, with
    every split tensor under `codec` (priced by `choice`'s measured ratios and times), but those
    `keep` gives a bit width of their own: that width, with `codec`'s entropy coder."""
    arrays = profile if isinstance(profile, ProfileArrays) else ProfileArrays.of(profile)
    conv = conventions or Conventions()
    bpe = conv.bytes_per_element or arrays.bytes_per_element
    kept = keep.channels
    keep_in = np.ones(arrays.elements.shape[0])  # kept fraction at boundaries 0..N
    for k, name in enumerate(arrays.names, start=1):
        if name in kept:
            keep_in[k] = kept[name] / arrays.channels[k - 1]
    n_bytes = arrays.elements * keep_in * bpe
    codec_ms = None
    own = dict(keep.bits)
    split_codecs = tuple(
        (k, Codec(own[name], codec.entropy))
        for k, name in enumerate(arrays.names, start=1)
        if name in own
    )
    if choice.measures or split_codecs or (codec is not DEFAULT_CODEC and not codec.is_default):
        codec_ms = np.zeros(n_bytes.shape[0])
        at = dict(split_codecs)
        for k, name in enumerate(arrays.names, start=1):
            coded = at.get(k, codec)
            n_bytes[k] *= choice.factor(name, coded, float(keep_in[k]))
            elements = float(arrays.elements[k] * keep_in[k])
            codec_ms[k] = choice.codec_ms(name, coded, elements, float(keep_in[k]))
    times = arrays.times
    if conv.prune_compute == "linear":
        scale = (keep_in[:-1] + keep_in[1:]) / 2.0
        times = {t: v * scale for t, v in times.items()}
    up = np.asarray(links.ms(n_bytes, links.uplink_mbps), dtype=np.float64)
    down = np.asarray(links.ms(n_bytes, links.bandwidth_mbps), dtype=np.float64)
    up[:-1] += links.uplink_fixed_ms  # boundary N (the output) is never sent
    down[:-1] += links.fixed_ms
    if codec_ms is not None:
        up += codec_ms
        down += codec_ms
    return CostTables(
        end=times["end"],
        edge=times["edge"],
        cloud=times["cloud"],
        bytes=n_bytes,
        up_ms=up,
        down_ms=down,
        overhead_ms=conv.overhead_ms,
        up_fixed_ms=links.uplink_fixed_ms,
        down_fixed_ms=links.fixed_ms,
        codec=codec,
        codec_ms=codec_ms,
        split_codecs=split_codecs,
    )


def breakdown(tables: CostTables, a: int, b: int, down: CostTables | None = None) -> Breakdown:
    """Latency breakdown of the plan (a, b) — the reference the planner is tested against.

    `down`: the tables of the edge->cloud tensor's codec when it is not `tables`' (a relayed
    split tensor has one codec: its codec time is paid on the first link only)."""
    n = tables.n_segments
    if not 0 <= a <= b <= n:
        raise InputError(f"a plan needs 0 <= a <= b <= {n}, got a={a}, b={b}")
    second = tables if down is None else down
    crosses_up = a < n
    crosses_down = b < n
    relayed = 0 < a == b < n
    if relayed and second.codec != tables.codec:
        raise InputError("a relayed tensor has one codec on both links")
    downlink_ms = float(second.down_ms[b]) if crosses_down else 0.0
    if relayed:
        downlink_ms -= second.relay_ms(b)
    return Breakdown(
        end_ms=float(tables.end[:a].sum()),
        uplink_ms=float(tables.up_ms[a]) if crosses_up else 0.0,
        edge_ms=float(tables.edge[a:b].sum()),
        downlink_ms=downlink_ms,
        cloud_ms=float(tables.cloud[b:].sum()),
        overhead_ms=tables.overhead_ms,
        uplink_bytes=float(tables.bytes[a]) if crosses_up else 0.0,
        downlink_bytes=float(second.bytes[b]) if crosses_down else 0.0,
    )
