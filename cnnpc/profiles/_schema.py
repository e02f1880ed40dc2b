"""Profile data: per-segment run times on each tier and the tensors that cross at each boundary."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnpc.profiles._power import PowerFigures
from cnnpc.spaces import SearchSpace

TIERS = ("end", "edge", "cloud")


@dataclass(frozen=True)
class Tensor:
    """A tensor that may cross the network: the raw input (boundary 0) or a candidate's output."""

    name: str
    height: int
    width: int
    channels: int

    @property
    def elements(self) -> int:
        return self.height * self.width * self.channels


@dataclass(frozen=True)
class Segment:
    """Run time (ms) of the layers between two consecutive boundaries, on each tier."""

    name: str
    end_ms: float
    edge_ms: float
    cloud_ms: float
    end_memory_mb: float | None = field(default=None, compare=False)
    """What running the segment (unpruned) added to the end device's memory, weights included
    (MB = 2^20 bytes), as its benchmark measured it; None: not measured."""

    def on(self, tier: str) -> float:
        return float(getattr(self, f"{tier}_ms"))


@dataclass(frozen=True)
class Profile:
    """A model on one end device: N segments, N boundaries (input + N-1 candidates).

    Boundary 0 is the raw input; boundary k (1 <= k < N) is the output of segment k-1, which is
    split candidate k-1 of the search space. Segment N-1 runs from the last candidate to the output.
    """

    model: str
    device: str
    space: SearchSpace
    input: Tensor
    candidates: tuple[Tensor, ...]
    segments: tuple[Segment, ...]
    bytes_per_element: float
    source_mbit_bits: float
    source: str = field(default="", compare=False)
    stand_in: str = field(default="", compare=False)
    """Non-empty when the device is not measured but stands in (e.g. a host profile scaled per
    tier): what it is made of. Every output that uses such a profile says so."""
    power: PowerFigures | None = field(default=None, compare=False)
    """The end device's power figures (None: none given; `cnnpc profile import --power`)."""

    @property
    def n_segments(self) -> int:
        return len(self.segments)

    @property
    def boundaries(self) -> tuple[Tensor, ...]:
        """Tensors at boundaries 0..N-1 (the output boundary N never crosses a link)."""
        return (self.input, *self.candidates)

    def tier_total(self, tier: str) -> float:
        return sum(s.on(tier) for s in self.segments)
