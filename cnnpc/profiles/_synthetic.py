"""Synthetic chain profiles, for benchmarks and property tests of the planner."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnnpc.profiles._schema import Profile, Segment, Tensor
from cnnpc.spaces import Candidate, SearchSpace


def make_profile(
    times: Sequence[tuple[float, float, float]],
    tensors: Sequence[tuple[int, int, int]],
    model: str = "synthetic",
    device: str = "synthetic",
    bytes_per_element: float = 1.0,
    mbit_bits: float = 1_000_000.0,
) -> Profile:
    """Profile from (end, edge, cloud) ms per segment and (h, w, c) per boundary 0..N-1."""
    if len(tensors) != len(times) or not times:
        raise ValueError("need one tensor per segment (input + one per candidate)")
    shapes = [Tensor(f"t{k}", h, w, c) for k, (h, w, c) in enumerate(tensors)]
    candidates = tuple(Candidate(name=t.name, channels=t.channels) for t in shapes[1:])
    space = SearchSpace(model=model, candidates=candidates, keep_grid=(0.25, 0.5, 0.75, 1.0))
    segments = tuple(
        Segment(name=f"s{k}", end_ms=e, edge_ms=d, cloud_ms=c) for k, (e, d, c) in enumerate(times)
    )
    return Profile(
        model=model,
        device=device,
        space=space,
        input=shapes[0],
        candidates=tuple(shapes[1:]),
        segments=segments,
        bytes_per_element=bytes_per_element,
        source_mbit_bits=mbit_bits,
    )


def synthetic_profile(n_segments: int, seed: int = 0) -> Profile:
    """A random chain whose end device is ~10x slower than the edge and ~50x than the cloud."""
    rng = np.random.default_rng(seed)
    end = rng.uniform(0.5, 10.0, n_segments)
    times = [(float(e), float(e / rng.uniform(5, 15)), float(e / rng.uniform(30, 70))) for e in end]
    side = np.maximum(1, (224 / 2 ** np.linspace(0, 5, n_segments)).astype(int))
    tensors = [(224, 224, 3)] + [(int(s), int(s), int(rng.integers(8, 512))) for s in side[1:]]
    return make_profile(times, tensors)
