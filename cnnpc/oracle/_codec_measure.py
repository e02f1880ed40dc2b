"""The split tensor's codec measured for the search's price: per candidate and bit width, the
entropy coder's ratio on the workload's validation images and the encode / decode time here.

Why the baseline: a search prices thousands of configurations before it fine-tunes any, so the
ratio must be known per candidate and width up front; the trained, unpruned baseline's tensors
are what every configuration is cut from. Each candidate's tensor is quantized to int8 with one
scale and zero point over the images (the deployed part's range is learned the same way, by
quantization-aware training's min / max), then coded by `cnnpc.codec.encode` exactly as the
runtime codes it: the ratio is packed bytes / coded bytes summed over the images. `deploy`
measures the ratio again on the deployed parts (`cnnpc.deploy`), where `validate` checks it.

With a coder the ratio is also measured on what pruning keeps: at each of RATIO_FRACTIONS, the
channels `prune_channels` would keep of that candidate (the most important ones by L1), and the
planner interpolates between them (`CodecChoice.ratio`); the time too, as a small tensor costs more
per element (the coder's fixed cost), and the planner scales the nearest one. Measured on digits:
conv1's tensor at 2 bits + zstd codes 7.47x smaller whole but 4.86x at a quarter of its channels,
and the deployed fine-tuned model's quarter 4.61x (block10 1.38x whole, 0.88x at a quarter: zstd's
frame then costs more than it saves). Priced at the whole tensor's ratio, a search's plan came out
22 % faster than its deployment priced it.

The times are this host's (median per image) on the workload's tensors, which are smaller than a
profile's (digits at 64x64 against 224x224): each measure says its element count, and the planner
scales the time to the elements it prices (`CodecMeasure.elements`). The phone is slower still:
that is not modelled.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from cnnpc._keras import keras
from cnnpc.codec import Codec, CodecMeasure, check_coder, measure_codec
from cnnpc.compression import ChannelGraph, channel_graph, kept_indices, split_layer
from cnnpc.errors import InputError
from cnnpc.records import KeepConfig

if TYPE_CHECKING:
    from cnnpc._keras import KerasModel
    from cnnpc.oracle._oracle import AccuracyOracle
    from cnnpc.spaces import Candidate

MEASURE_IMAGES = 128
"""Validation images the ratio is summed over (deploy's calibration count, `RATIO_IMAGES`)."""
MEASURES_VERSION = 4
"""Bumped when what is measured changes: the cached measures are keyed by it."""


def codec_measures(
    oracle: AccuracyOracle, bits: Sequence[int], entropy: str
) -> tuple[CodecMeasure, ...]:
    """Every candidate at every width of `bits` under `entropy`, measured on `oracle`'s
    baseline (read from its result cache when measured before)."""
    check_coder(entropy)
    widths = sorted(set(bits), reverse=True)
    named = (
        f"codec-measures-v{MEASURES_VERSION}|{oracle.baseline.key}|{oracle.workload.fingerprint}"
        f"|bits={','.join(map(str, widths))}|{entropy}|images={MEASURE_IMAGES}"
    )
    key = hashlib.sha256(named.encode()).hexdigest()[:24]  # the cache's keys are alphanumeric
    cached = oracle.cache.get(key)
    if cached is not None:
        return tuple(CodecMeasure(**m) for m in cached["measures"])
    model = oracle.baseline.model
    candidates = oracle.space.candidates
    probe = keras.Model(model.inputs, [model.get_layer(split_layer(c)).output for c in candidates])
    outputs = probe.predict(oracle.workload.val.x[:MEASURE_IMAGES], batch_size=64, verbose=0)
    if len(candidates) == 1:
        outputs = [outputs]
    measures = []
    graph = _graph(model) if entropy != "none" else None
    for candidate, values in zip(candidates, outputs, strict=True):
        tensor = np.asarray(values, dtype=np.float32)
        ints, scale, zero_point = _int8(tensor)
        pruned = _pruned_channels(oracle, candidate, graph) if graph is not None else []
        for width in widths:
            codec = Codec(width, entropy)
            measures.append(measure_codec(candidate.name, ints, scale, zero_point, codec))
            if entropy != "none":  # on what pruning keeps: its ratio, and its time
                for kept, channels in pruned:
                    part = _int8(tensor[..., list(channels)])
                    measure = measure_codec(candidate.name, *part, codec)
                    measures.append(dataclasses.replace(measure, kept=kept))
    oracle.cache.put(key, {"measures": [m.__dict__ for m in measures]})
    return tuple(measures)


RATIO_FRACTIONS = (0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875)
"""Where the coder's ratio is measured below the whole tensor (the shipped keep grid; a
per-channel grid's counts are priced between them)."""


def _graph(model: KerasModel) -> ChannelGraph | None:
    """`model`'s channel graph, once for every candidate and fraction; None where channels
    cannot be pruned (a sequential model, say): only whole tensors are priced then."""
    try:
        return channel_graph(model)
    except InputError:
        return None


def _pruned_channels(
    oracle: AccuracyOracle, candidate: Candidate, graph: ChannelGraph
) -> list[tuple[float, tuple[int, ...]]]:
    """(kept fraction, the channels pruning keeps) at each of RATIO_FRACTIONS where the
    candidate alone can be pruned (a tied candidate with its ties, as `KeepConfig` resolves
    them: the channels at its split are then what that configuration keeps)."""
    if not candidate.prunable:
        return []
    model = oracle.baseline.model
    out: list[tuple[float, tuple[int, ...]]] = []
    for fraction in RATIO_FRACTIONS:
        keep = KeepConfig.from_fractions(oracle.space, {candidate.name: fraction})
        resolved = {b.name: b.fraction for b in keep.blocks}
        try:
            channels = kept_indices(model, oracle.space, resolved, graph)[candidate.name]
        except InputError:  # not prunable in this model: only the whole tensor is priced
            return []
        if len(channels) < candidate.channels and channels not in {c for _, c in out}:
            out.append((len(channels) / candidate.channels, channels))
    return out


def _int8(values: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.int8], float, int]:
    """`values` as int8 with one scale and zero point over them all (the range holds 0)."""
    lo, hi = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    scale = (hi - lo) / 255.0 or 1.0
    zero_point = round(-128 - lo / scale)
    ints = np.clip(np.round(values / scale) + zero_point, -128, 127).astype(np.int8)
    return ints, scale, zero_point
