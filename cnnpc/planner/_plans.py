"""A plan: its tier layout, the codecs of its links, and what it costs (latency, and the phone's
energy and its pipeline stages when asked)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnpc.codec import Codec
from cnnpc.errors import InputError
from cnnpc.latency import STAGES, Breakdown, Energy, frames_per_s
from cnnpc.profiles import Profile

MODES = (
    "end_only",
    "edge_only",
    "cloud_only",
    "end_edge",
    "end_cloud",
    "edge_cloud",
    "end_edge_cloud",
)
SINGLE_SPLIT_MODES = ("end_edge", "end_cloud", "edge_cloud")
MODE_LABELS = {
    "end_only": "end only",
    "edge_only": "edge only",
    "cloud_only": "cloud only (input relayed by the edge)",
    "end_edge": "end -> edge",
    "end_cloud": "end -> cloud (relayed by the edge)",
    "edge_cloud": "edge -> cloud",
    "end_edge_cloud": "end -> edge -> cloud",
}


def mode_of(a: int, b: int, n: int) -> str:
    """Name the layout where the end runs [0, a), the edge [a, b) and the cloud [b, n)."""
    if a == n:
        return "end_only"
    if a == 0:
        return "edge_only" if b == n else ("cloud_only" if b == 0 else "edge_cloud")
    if b == n:
        return "end_edge"
    return "end_cloud" if a == b else "end_edge_cloud"


LINK_NAMES = ("end->edge", "edge->cloud")


@dataclass(frozen=True)
class LinkCodec:
    """The codec of the tensor one link of a plan carries ("input": the raw image, never coded)."""

    link: str
    tensor: str
    codec: Codec

    def as_dict(self) -> dict[str, object]:
        return {"link": self.link, "tensor": self.tensor, **self.codec.as_dict()}


@dataclass(frozen=True)
class Plan:
    """A deployment: tier boundaries, the keep fractions it runs with, and its priced latency."""

    a: int
    b: int
    n_segments: int
    mode: str
    splits: tuple[str, ...]
    breakdown: Breakdown
    keep: dict[str, float] = field(default_factory=dict)
    codecs: tuple[LinkCodec, ...] | None = None
    """Each used link's codec, when the planner chose codecs (None: int8, as before codecs)."""
    energy: Energy | None = None
    """The phone's energy, when the profile has power figures (None: no figures)."""
    stages: tuple[float, ...] | None = None
    """Each pipeline stage's ms (`cnnpc.latency.STAGES`), when throughput was asked."""

    @property
    def energy_mj(self) -> float | None:
        return None if self.energy is None else self.energy.total_mj

    @property
    def fps(self) -> float | None:
        """The steady-state frame rate of the plan as a pipeline (None: not asked)."""
        return None if self.stages is None else frames_per_s(max(self.stages))

    @property
    def latency_ms(self) -> float:
        return self.breakdown.total_ms

    def objective_value(self, objective: str) -> float:
        """What `objective` minimises of this plan: its latency (ms), the phone's energy (mJ) or
        its slowest pipeline stage (ms per frame); a price the planner did not make is refused."""
        if objective == "latency":
            return self.latency_ms
        if objective == "energy" and self.energy is not None:
            return self.energy.total_mj
        if objective == "throughput" and self.stages is not None:
            return max(self.stages)
        raise InputError(f"this plan was not priced for the {objective!r} objective")

    def tiers(self, profile: Profile) -> dict[str, list[str]]:
        """Segment names each tier runs (empty list: the tier is unused)."""
        names = [s.name for s in profile.segments]
        return {"end": names[: self.a], "edge": names[self.a : self.b], "cloud": names[self.b :]}

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "latency_ms": self.latency_ms,
            "mode": self.mode,
            "splits": list(self.splits),
            "end_segments": self.a,
            "edge_segments": self.b - self.a,
            "cloud_segments": self.n_segments - self.b,
            "keep": dict(self.keep),
            "traffic_bytes": self.breakdown.traffic_bytes,
            "breakdown": self.breakdown.as_dict(),
        }
        if self.codecs is not None:
            out["codecs"] = [c.as_dict() for c in self.codecs]
        if self.energy is not None:
            out["energy_mj"] = self.energy.total_mj
            out["energy"] = self.energy.as_dict()
        if self.stages is not None:
            out["fps"] = self.fps
            out["stages_ms"] = dict(zip(STAGES, self.stages, strict=True))
        return out
