"""Time model segments as TFLite models on this machine (imports TensorFlow).

A segment is the model cut at the search space's split candidates (`segment_models`), so its rows
match the shipped profiles. Each is converted as it is deployed: full int8 (int8 input and output)
for the end device; edge and cloud parts in `server_format`, int8 by default as the deployment
does. Timing uses LiteRT's interpreter (``cnnpc._litert``: the one the runtime runs parts in,
which replaces the deprecated ``tf.lite.Interpreter``) with one thread (stable numbers on a
shared machine): warm-up runs, then `repeats` samples, each the mean of enough invokes to last
about a millisecond (a small segment runs in tens of microseconds, below the timer's
resolution), and the median with the 10th and 90th percentiles. Weights are random: they do
not change the run time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnpc.spaces import SearchSpace

NUM_CLASSES = 10  # the embedded digits workload; the head's width barely changes its time
FORMATS = ("int8", "float32")
_BYTES = {"int8": 1, "float32": 4}
_SAMPLE_S = 1e-3


@dataclass(frozen=True)
class SegmentShape:
    """What the regressor sees of a segment, plus its boundary widths."""

    flops: int
    params: int
    in_bytes: int
    out_bytes: int
    in_channels: int
    out_channels: int
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]


@dataclass(frozen=True)
class Timing:
    median_ms: float
    p10_ms: float
    p90_ms: float


def _flops(model: Any) -> int:
    """FLOPs of a (possibly nested) functional model: segments wrap an inner model."""
    from cnnpc.models import count_flops

    nested = sum(_flops(layer) for layer in model.layers if hasattr(layer, "layers"))
    return int(count_flops(model)) + nested


def _elements(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape))


def segment_shape(segment: Any, fmt: str = "int8") -> SegmentShape:
    """Size features of a Keras segment (activations priced at the format's bytes)."""
    in_shape = tuple(int(d) for d in segment.input_shape[1:])
    out_shape = tuple(int(d) for d in segment.output_shape[1:])
    return SegmentShape(
        flops=_flops(segment),
        params=int(segment.count_params()),
        in_bytes=_elements(in_shape) * _BYTES[fmt],
        out_bytes=_elements(out_shape) * _BYTES[fmt],
        in_channels=in_shape[-1],
        out_channels=out_shape[-1],
        in_shape=in_shape,
        out_shape=out_shape,
    )


def pruned_segments(
    model_name: str, space: SearchSpace, image_size: int, keep: Mapping[str, float]
) -> list[Any]:
    """A random-init `model_name` at `image_size`, pruned to `keep`, cut at the candidates."""
    from cnnpc.compression import prune_channels, split_layer
    from cnnpc.models import build_model, segment_models

    model = build_model(model_name, NUM_CLASSES, input_size=image_size)
    if any(f < 1.0 for f in keep.values()):
        model = prune_channels(model, space, keep).model
    return list(segment_models(model, [split_layer(c) for c in space.candidates]))


def to_tflite(segment: Any, fmt: str) -> bytes:
    """Convert a segment: ``int8`` = full integer (int8 in and out), as `cnnpc deploy` converts
    parts (calibrated on random inputs: timing does not depend on the ranges); ``float32`` = as is.
    """
    from cnnpc.deploy import to_float_tflite, to_int8_tflite

    if fmt == "int8":
        shape = tuple(int(d) for d in segment.input_shape[1:])
        rng = np.random.default_rng(0)
        calibration = rng.uniform(-1.0, 1.0, size=(4, *shape)).astype(np.float32)
        return to_int8_tflite(segment, calibration)
    return to_float_tflite(segment)


def time_tflite(buffer: bytes, repeats: int, warmup: int, threads: int = 1) -> Timing:
    """Median (p10, p90) ms of one invoke of a TFLite model with `threads` threads."""
    from cnnpc._litert import load_interpreter

    interpreter = load_interpreter(buffer, threads)
    detail = interpreter.get_input_details()[0]
    rng = np.random.default_rng(0)
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        data = rng.uniform(-1, 1, size=detail["shape"]).astype(dtype)
    else:
        data = rng.integers(-128, 128, size=detail["shape"]).astype(dtype)
    interpreter.set_tensor(detail["index"], data)
    for _ in range(max(1, warmup)):
        interpreter.invoke()
    start = time.perf_counter()
    interpreter.invoke()
    once = max(time.perf_counter() - start, 1e-7)
    inner = max(1, min(1000, round(_SAMPLE_S / once)))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            interpreter.invoke()
        samples.append((time.perf_counter() - start) * 1e3 / inner)
    p10, median, p90 = np.percentile(samples, [10, 50, 90]).tolist()
    return Timing(median_ms=float(median), p10_ms=float(p10), p90_ms=float(p90))
