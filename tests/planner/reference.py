"""A plan's compute written from the profile alone, independently of the library: the part of
the brute-force references that tests/planner/test_exact.py and test_exact_codecs.py share."""

from __future__ import annotations


def compute_ms(profile, comp, conv, a, b):
    """(compute ms of layout (a, b), kept fraction of every boundary's tensor): end runs
    segments [0, a), edge [a, b), cloud the rest, each scaled under the linear pruning rule."""
    n = profile.n_segments
    keep = [1.0] * (n + 1)
    for k, cand in enumerate(profile.candidates, start=1):
        keep[k] = comp.channels.get(cand.name, cand.channels) / cand.channels
    linear = conv.prune_compute == "linear"
    scale = [(keep[s] + keep[s + 1]) / 2 if linear else 1.0 for s in range(n)]
    segs = profile.segments
    total = sum(segs[s].on("end") * scale[s] for s in range(a))
    total += sum(segs[s].on("edge") * scale[s] for s in range(a, b))
    total += sum(segs[s].on("cloud") * scale[s] for s in range(b, n))
    return total, keep
