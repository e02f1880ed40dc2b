"""A codec measured on tensors: the coder's ratio and the median encode and decode time.

The search's measures (`cnnpc.oracle.codec_measures`, on the baseline's tensors) and the measures
of a search without a model (`synthetic_measures`: an accuracy table's) are made here, by the
runtime's own `encode` and `decode`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from cnnpc.codec._codec import Codec
from cnnpc.codec._price import CodecMeasure
from cnnpc.codec._wire import coded_bytes, decode, encode


def measure_codec(
    name: str, ints: npt.NDArray[np.int8], scale: float, zero_point: int, codec: Codec
) -> CodecMeasure:
    """`codec` on each tensor of `ints` (one per image, axis 0): the coder's ratio over them all
    (packed bytes / coded bytes; 1 without a coder) and the median encode and decode ms."""
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
        elements=int(ints[0].size),
    )


SYNTHETIC_SHAPE = (32, 32, 32)
"""The tensor a model-less measure times: 32,768 elements (the planner scales the time)."""
SYNTHETIC_TENSORS = 32


def synthetic_measures(names: Sequence[str], bits: Sequence[int]) -> tuple[CodecMeasure, ...]:
    """The codec's time at every width of `bits` below 8 for every candidate of `names`,
    without a model (an accuracy table's search): timed on seeded int8 tensors, as requantizing
    and packing take the same time whatever the values (ratio 1: no coder; a coder's ratio and
    time depend on the tensors, so a search without a model cannot price one)."""
    rng = np.random.default_rng(0)
    ints = rng.integers(-128, 128, (SYNTHETIC_TENSORS, *SYNTHETIC_SHAPE), dtype=np.int8)
    measures: list[CodecMeasure] = []
    for width in sorted(set(bits), reverse=True):
        if width >= 8:
            continue
        timed = measure_codec("", ints, 0.05, 0, Codec(width))
        measures.extend(
            CodecMeasure(n, width, 1.0, timed.encode_ms, timed.decode_ms, timed.elements)
            for n in names
        )
    return tuple(measures)
