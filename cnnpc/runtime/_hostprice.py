"""Price an upload folder's layouts on this host: its parts timed here, the end slowed down.

On one machine end and edge compute equally fast, so offloading would never pay; IONN's end is
a phone several times slower than its edge. `host_upload_planner` times every segment part
(median of `repeats` invokes after one warm-up) and builds a profile whose end runs each segment
`slowdown` times slower and whose edge runs it as measured, with int8 tensors at the parts'
boundaries: the planner that `write_upload_folder` prices the folder with, so that the
client run with the same `slowdown` (`IncrementalClient`, `cnnpc infer --upload --slowdown`)
is measured against its own prediction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from cnnpc.latency import Conventions
from cnnpc.planner import Planner
from cnnpc.profiles import make_profile
from cnnpc.records import LinkSetting, PartSpec
from cnnpc.runtime._part import Part


def time_parts(
    parts: Sequence[PartSpec], files: Mapping[str, bytes], repeats: int = 20, threads: int = 1
) -> list[float]:
    """Median ms of one invoke of each part on this host (zeros in, one warm-up)."""
    times = []
    for spec in parts:
        part = Part(spec.file, spec, threads, files[spec.file])
        x = np.zeros(spec.input.shape, dtype=spec.input.dtype)
        part.run(x)
        times.append(float(np.median([part.run(x)[1] for _ in range(repeats)])))
    return times


def host_upload_planner(
    parts: Sequence[PartSpec],
    files: Mapping[str, bytes],
    *,
    uplink_mbps: float,
    slowdown: float,
    model: str = "model",
    repeats: int = 20,
) -> Planner:
    """The planner of `parts` on this host with an end `slowdown` times slower (module doc)."""
    times = time_parts(parts, files, repeats)
    tensors = []
    for spec in parts:
        shape = spec.input.shape[1:]
        h, w = (shape[0], shape[1]) if len(shape) == 3 else (1, 1)
        tensors.append((h, w, math.prod(shape) // (h * w)))
    profile = make_profile(
        [(slowdown * t, t, t) for t in times], tensors, model=model, device="host"
    )
    links = LinkSetting(uplink_mbps=uplink_mbps, bandwidth_mbps=uplink_mbps)
    return Planner(profile, links, Conventions(overhead_ms=0.0))
