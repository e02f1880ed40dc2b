"""What each tier must hold for a plan: its part's weights, and the end part's peak memory.

`cnnpc deploy` writes every part as one full-int8 TFLite file (`cnnpc.deploy`), so a part holds
one byte per parameter on every tier; the parameters of its segments follow the keep rule
(`cnnpc.profiles.segment_weights`). A profile measured with float32 server parts only timed them
so: the deployed parts are int8 all the same.

Peak memory comes only from the device (`Segment.end_memory_mb`: what running one unpruned
segment's file added to the benchmark's process, its weights included). The end part is ONE
file of its segments run by one interpreter, whose arena is reused from operator to operator:
it holds all their weights at once but only one segment's working memory at a time. So its
peak is estimated as its weights plus the largest working memory of its segments (a segment's
measured memory less its unpruned weights): a sum would count every arena, a plain max would
forget the other segments' weights. For a pruned plan the unpruned working memory is an upper
bound. None when any of its segments was not measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnpc._files import MiB
from cnnpc.profiles import Profile, SegmentWeights, profile_weights
from cnnpc.records import NO_PRUNING, FloatArray, KeepConfig

DEPLOYED_FORMAT = "int8"
BYTES_PER_PARAM = 1
MB = MiB
"""A megabyte as LiteRT's benchmark tools count memory (2^20 bytes)."""


@dataclass(frozen=True)
class PartSizes:
    """Bytes of weights each tier's part holds (0: the tier runs nothing)."""

    end_bytes: int
    edge_bytes: int
    cloud_bytes: int
    end_memory_bytes: int | None = None
    """The end part's estimated peak memory from the device's results (None: not measured)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "format": DEPLOYED_FORMAT,
            "end_bytes": self.end_bytes,
            "edge_bytes": self.edge_bytes,
            "cloud_bytes": self.cloud_bytes,
            "end_memory_bytes": self.end_memory_bytes,
        }


class PartWeights:
    """Segment weights of one profile, priced per keep configuration (cached by key)."""

    def __init__(self, profile: Profile, weights: SegmentWeights | None = None) -> None:
        self.profile = profile
        self.weights = weights if weights is not None else profile_weights(profile)
        self._prefix: dict[str, FloatArray] = {}
        whole = self.weights.counts()
        self.working = tuple(
            None
            if s.end_memory_mb is None
            else max(0.0, s.end_memory_mb * MB - whole[k] * BYTES_PER_PARAM)
            for k, s in enumerate(profile.segments)
        )
        """Per segment: measured memory beyond its unpruned weights (bytes; None: unmeasured)."""

    def prefix(self, keep: KeepConfig = NO_PRUNING) -> FloatArray:
        """Bytes of segments [0, k) for k = 0..N: the end part of a layout with a = k."""
        key = keep.key
        if key not in self._prefix:
            counts = np.array(self.weights.counts(keep.pruned), dtype=np.float64)
            self._prefix[key] = np.concatenate([[0.0], np.cumsum(counts * BYTES_PER_PARAM)])
        return self._prefix[key]

    def working_max(self) -> FloatArray:
        """For k = 0..N, the largest measured working memory of segments [0, k) (0 if none)."""
        known = [0.0 if w is None else w for w in self.working]
        return np.concatenate([[0.0], np.maximum.accumulate(known)]) if known else np.zeros(1)

    def end_need(self, keep: KeepConfig = NO_PRUNING) -> FloatArray:
        """Bytes the end part of layout a = 0..N needs: its weights plus the measured working
        memory (what `--end-memory` is compared with)."""
        need = self.prefix(keep) + self.working_max()
        need[0] = 0.0  # an end that runs nothing holds nothing
        return need

    def end_memory(self, a: int, keep: KeepConfig = NO_PRUNING) -> int | None:
        """The end part's estimated peak memory (None: nothing runs there, or a segment of it
        was not measured)."""
        if a == 0 or any(w is None for w in self.working[:a]):
            return None
        return int(self.end_need(keep)[a])

    def sizes(self, a: int, b: int, keep: KeepConfig = NO_PRUNING) -> PartSizes:
        """Each tier's part of layout (a, b): the end runs [0, a), the edge [a, b), the cloud
        the rest."""
        prefix = self.prefix(keep)
        n = len(prefix) - 1
        return PartSizes(
            end_bytes=int(prefix[a]),
            edge_bytes=int(prefix[b] - prefix[a]),
            cloud_bytes=int(prefix[n] - prefix[b]),
            end_memory_bytes=self.end_memory(a, keep),
        )
