"""A split tensor on the wire: the int8 tensor the end part emits, coded by a `Codec`.

At 8 bits the payload is the int8 tensor's own bytes (so the default codec sends exactly what
every plan sent before codecs existed); below, the tensor is requantized to `bits` with its own
scale and zero point (sent beside the payload, as int8 tensors send theirs today) and packed
densely. The entropy coder, if any, then codes the packed bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cnnpc.codec._codec import MAX_BITS, Codec, PayloadError
from cnnpc.codec._entropy import compress, decompress
from cnnpc.codec._pack import pack, packed_size, unpack
from cnnpc.codec._quant import Int8, Quantized, requantize, to_int8
from cnnpc.errors import InputError


@dataclass(frozen=True)
class Encoded:
    """What crosses a link: the coded bytes and the affine map of their codes."""

    payload: bytes
    codec: Codec
    scale: float
    zero_point: int


def encode(values: npt.ArrayLike, scale: float, zero_point: int, codec: Codec) -> Encoded:
    """The int8 tensor `values` (real = (v - zero_point) * scale) coded by `codec`."""
    ints = np.ascontiguousarray(values)
    if ints.dtype != np.int8:
        raise InputError(f"a split tensor is int8, got {ints.dtype}")
    if codec.bits == MAX_BITS:
        packed, s, z = ints.tobytes(), float(scale), int(zero_point)
    else:
        q = requantize(ints, scale, zero_point, codec.bits)
        packed, s, z = pack(q.codes, codec.bits), q.scale, q.zero_point
    return Encoded(compress(packed, codec.entropy), codec, s, z)


def decode(encoded: Encoded, shape: tuple[int, ...], scale: float, zero_point: int) -> Int8:
    """The receiving part's int8 input (its `scale` and `zero_point`) of shape `shape`; a payload
    that does not decode to exactly that many elements at the codec's width is refused."""
    codec = encoded.codec
    count = math.prod(shape)
    packed = decompress(encoded.payload, codec.entropy, packed_size(count, codec.bits))
    if codec.bits == MAX_BITS:
        ints = np.frombuffer(packed, dtype=np.int8).reshape(shape)
        if (encoded.scale, encoded.zero_point) == (scale, zero_point):
            return ints.copy()
        q = requantize(ints, encoded.scale, encoded.zero_point, MAX_BITS)
        return to_int8(q, scale, zero_point).reshape(shape)
    if not (math.isfinite(encoded.scale) and encoded.scale > 0):
        raise PayloadError(f"a coded tensor needs a finite scale > 0, got {encoded.scale}")
    if not 0 <= encoded.zero_point < 1 << codec.bits:
        raise PayloadError(f"zero point {encoded.zero_point} is outside {codec.bits} bits")
    codes = unpack(packed, count, codec.bits)
    q = Quantized(codes, encoded.scale, encoded.zero_point, codec.bits)
    return to_int8(q, scale, zero_point).reshape(shape)


def coded_bytes(count: int, codec: Codec) -> int:
    """Bytes of the packed tensor before any entropy coder (what the planner prices as
    count x bits / 8, rounded up to whole bytes)."""
    return packed_size(count, codec.bits)
