"""What each tier must hold for a plan: its part's weights, and the end part's peak memory.

`cnnpc deploy` writes every part as one full-int8 TFLite file (`cnnpc.deploy`), so a part holds
one byte per parameter on every tier; the parameters of its segments follow the keep rule
(`cnnpc.profiles.segment_weights`). A profile measured with float32 server parts only timed them
so: the deployed parts are int8 all the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnpc.profiles import Profile, SegmentWeights, profile_weights
from cnnpc.records import NO_PRUNING, FloatArray, KeepConfig

DEPLOYED_FORMAT = "int8"
BYTES_PER_PARAM = 1
MB = 1 << 20
"""A megabyte as LiteRT's benchmark tools count memory (2^20 bytes)."""


@dataclass(frozen=True)
class PartSizes:
    """Bytes of weights each tier's part holds (0: the tier runs nothing)."""

    end_bytes: int
    edge_bytes: int
    cloud_bytes: int

    def as_dict(self) -> dict[str, object]:
        return {
            "format": DEPLOYED_FORMAT,
            "end_bytes": self.end_bytes,
            "edge_bytes": self.edge_bytes,
            "cloud_bytes": self.cloud_bytes,
        }


class PartWeights:
    """Segment weights of one profile, priced per keep configuration (cached by key)."""

    def __init__(self, profile: Profile, weights: SegmentWeights | None = None) -> None:
        self.profile = profile
        self.weights = weights if weights is not None else profile_weights(profile)
        self._prefix: dict[str, FloatArray] = {}

    def prefix(self, keep: KeepConfig = NO_PRUNING) -> FloatArray:
        """Bytes of segments [0, k) for k = 0..N: the end part of a layout with a = k."""
        key = keep.key
        if key not in self._prefix:
            counts = np.array(self.weights.counts(keep.pruned), dtype=np.float64)
            self._prefix[key] = np.concatenate([[0.0], np.cumsum(counts * BYTES_PER_PARAM)])
        return self._prefix[key]

    def sizes(self, a: int, b: int, keep: KeepConfig = NO_PRUNING) -> PartSizes:
        """Each tier's part of layout (a, b): the end runs [0, a), the edge [a, b), the cloud
        the rest."""
        prefix = self.prefix(keep)
        n = len(prefix) - 1
        return PartSizes(
            end_bytes=int(prefix[a]),
            edge_bytes=int(prefix[b] - prefix[a]),
            cloud_bytes=int(prefix[n] - prefix[b]),
        )
