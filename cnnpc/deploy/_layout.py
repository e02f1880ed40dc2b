"""Which segments each tier runs, where the model is cut, and which tensor crosses each link.

A plan on N segments is a pair of boundaries (a, b): end [0, a), edge [a, b), cloud [b, N), any of
them possibly empty (see cnnpc.latency). Boundary k is the tensor after segment k - 1: the input
for k = 0, split candidate k - 1 for 0 < k < N.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cnnpc.errors import InputError

if TYPE_CHECKING:
    from cnnpc.storage import Tiers


@dataclass(frozen=True)
class Layout:
    a: int
    b: int
    n: int

    def __post_init__(self) -> None:
        if not 0 <= self.a <= self.b <= self.n or self.n < 1:
            raise InputError(f"a plan needs 0 <= a <= b <= N, got a={self.a} b={self.b} N={self.n}")

    @staticmethod
    def of_tiers(tiers: Tiers, n: int) -> Layout:
        """The layout of a search's best plan (its ``tiers``: segment names per tier)."""
        counts = [len(tiers.end), len(tiers.edge), len(tiers.cloud)]
        if sum(counts) != n:
            raise InputError(f"the plan's tiers hold {sum(counts)} segments, the model has {n}")
        return Layout(counts[0], counts[0] + counts[1], n)

    def ranges(self) -> dict[str, tuple[int, int]]:
        """Segment range [start, stop) of every tier that runs something, in network order."""
        spans = {"end": (0, self.a), "edge": (self.a, self.b), "cloud": (self.b, self.n)}
        return {tier: span for tier, span in spans.items() if span[0] < span[1]}

    def cuts(self) -> list[int]:
        """Boundaries between consecutive parts (where the model is cut)."""
        return sorted({k for k in (self.a, self.b) if 0 < k < self.n})

    def links(self) -> list[tuple[str, str, int]]:
        """(from, to, boundary) of every link a request crosses; a == b relays through the edge."""
        out = []
        if self.a < self.n:
            out.append(("end", "edge", self.a))
        if self.b < self.n:
            out.append(("edge", "cloud", self.b))
        return out
