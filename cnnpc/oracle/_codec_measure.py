"""The split tensor's codec measured for the search's price: per candidate and bit width, the
entropy coder's ratio on the workload's validation images and the encode / decode time here.

Why the baseline: a search prices thousands of configurations before it fine-tunes any, so the
ratio must be known per candidate and width up front; the trained, unpruned baseline's tensors
are what every configuration is cut from. Each candidate's tensor is quantized to int8 with one
scale and zero point over the images (the deployed part's range is learned the same way, by
quantization-aware training's min / max), then coded by `cnnpc.codec.encode` exactly as the
runtime codes it: the ratio is packed bytes / coded bytes summed over the images. `deploy`
measures the ratio again on the deployed parts (`cnnpc.deploy`), where `validate` checks it.

The times are this host's (median per image): the phone is slower, but at these sizes the codec
costs tens of microseconds against milliseconds of transfer (see the README's table).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from cnnpc._keras import keras
from cnnpc.codec import Codec, CodecMeasure, check_coder, coded_bytes, decode, encode
from cnnpc.compression import split_layer

if TYPE_CHECKING:
    from cnnpc.oracle._oracle import AccuracyOracle

MEASURE_IMAGES = 128
"""Validation images the ratio is summed over (deploy's calibration count, `RATIO_IMAGES`)."""
MEASURES_VERSION = 1
"""Bumped when what is measured changes: the cached measures are keyed by it."""


def codec_measures(
    oracle: AccuracyOracle, bits: Sequence[int], entropy: str
) -> tuple[CodecMeasure, ...]:
    """Every candidate at every width of `bits` under `entropy`, measured on `oracle`'s
    baseline (read from its result cache when measured before)."""
    check_coder(entropy)
    widths = sorted(set(bits), reverse=True)
    key = (
        f"codec-measures-v{MEASURES_VERSION}|{oracle.baseline.key}|{oracle.workload.fingerprint}"
        f"|bits={','.join(map(str, widths))}|{entropy}|images={MEASURE_IMAGES}"
    )
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
    for candidate, values in zip(candidates, outputs, strict=True):
        ints, scale, zero_point = _int8(np.asarray(values, dtype=np.float32))
        for width in widths:
            measures.append(
                _measure(candidate.name, ints, scale, zero_point, Codec(width, entropy))
            )
    oracle.cache.put(key, {"measures": [m.__dict__ for m in measures]})
    return tuple(measures)


def _int8(values: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.int8], float, int]:
    """`values` as int8 with one scale and zero point over them all (the range holds 0)."""
    lo, hi = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    scale = (hi - lo) / 255.0 or 1.0
    zero_point = round(-128 - lo / scale)
    ints = np.clip(np.round(values / scale) + zero_point, -128, 127).astype(np.int8)
    return ints, scale, zero_point


def _measure(
    name: str, ints: npt.NDArray[np.int8], scale: float, zero_point: int, codec: Codec
) -> CodecMeasure:
    """The coder's ratio over the images and the median encode and decode time (ms)."""
    coded = 0
    encode_s: list[float] = []
    decode_s: list[float] = []
    for image in ints:
        start = time.perf_counter()
        sent = encode(image, scale, zero_point, codec)
        middle = time.perf_counter()
        decode(sent, image.shape, scale, zero_point)
        encode_s.append(middle - start)
        decode_s.append(time.perf_counter() - middle)
        coded += len(sent.payload)
    packed = coded_bytes(int(ints[0].size), codec) * len(ints)
    ratio = 1.0 if codec.entropy == "none" else packed / max(coded, 1)
    return CodecMeasure(
        name,
        codec.bits,
        ratio=ratio,
        encode_ms=1e3 * float(np.median(encode_s)),
        decode_ms=1e3 * float(np.median(decode_s)),
    )
