"""Affine quantization of a tensor to `bits` bits, one scale and zero point per tensor.

real = (code - zero_point) * scale, codes in 0 .. 2**bits - 1. The range is the tensor's own
(this inference's minimum and maximum, widened to hold 0 so that zero, most of a ReLU output,
is exact and compresses well), sent with the payload as today's int8 tensors send theirs.

Why per tensor: per channel would send a scale and a zero point per channel with every tensor
(8 bytes x 256 channels is 2 KB, 8 % of a 4-bit 14x14x256 tensor) and its accuracy gain is not
measured yet (that needs the fine-tune at n bits, not built); the record leaves room for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cnnpc.codec._codec import MAX_BITS, MIN_BITS
from cnnpc.codec._pack import Codes
from cnnpc.errors import InputError

Int8 = npt.NDArray[np.int8]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Quantized:
    """Codes of one tensor at `bits` bits and the affine map back to real values."""

    codes: Codes
    scale: float
    zero_point: int
    bits: int

    def dequantize(self) -> Floats:
        """The real values the codes stand for."""
        real: Floats = (self.codes.astype(np.float64) - self.zero_point) * self.scale
        return real


def _check_bits(bits: int) -> int:
    if not MIN_BITS <= bits <= MAX_BITS:
        raise InputError(f"bits must be in {MIN_BITS}..{MAX_BITS}, got {bits}")
    return (1 << bits) - 1


def quantize(values: npt.ArrayLike, bits: int) -> Quantized:
    """`values` (finite reals) in `bits` bits, scale and zero point from their range (with 0).

    The error of every element is at most scale / 2."""
    top = _check_bits(bits)
    real = np.asarray(values, dtype=np.float64)
    if real.size and not np.all(np.isfinite(real)):
        raise InputError("cannot quantize a tensor with NaN or infinite values")
    low = min(float(real.min(initial=0.0)), 0.0)
    high = max(float(real.max(initial=0.0)), 0.0)
    scale = (high - low) / top if high > low else 1.0
    zero = int(np.clip(np.rint(-low / scale), 0, top))
    codes = np.clip(np.rint(real / scale) + zero, 0, top).astype(np.uint8)
    return Quantized(codes, scale, zero, bits)


def requantize(values: npt.ArrayLike, scale: float, zero_point: int, bits: int) -> Quantized:
    """An int8 tensor (what the end part emits: real = (v - zero_point) * scale) in fewer bits.

    At 8 bits the int8 codes are kept as they are (shifted to 0..255, same scale), so nothing is
    lost; below, the error against the int8 values is at most the new scale / 2."""
    ints = np.asarray(values)
    if ints.dtype != np.int8:
        raise InputError(f"requantize takes an int8 tensor, got {ints.dtype}")
    if not (np.isfinite(scale) and scale > 0):
        raise InputError(f"an int8 tensor needs a finite scale > 0, got {scale}")
    _check_bits(bits)
    if bits == MAX_BITS:
        codes = (ints.astype(np.int16) + 128).astype(np.uint8)
        return Quantized(codes, float(scale), int(zero_point) + 128, bits)
    return quantize((ints.astype(np.float64) - zero_point) * scale, bits)


def to_int8(quantized: Quantized, scale: float, zero_point: int) -> Int8:
    """The codes as the receiving part's int8 input (its `scale`, `zero_point`), rounded."""
    if not (np.isfinite(scale) and scale > 0):
        raise InputError(f"an int8 tensor needs a finite scale > 0, got {scale}")
    if quantized.bits == MAX_BITS and (quantized.scale, quantized.zero_point - 128) == (
        scale,
        zero_point,
    ):
        return (quantized.codes.astype(np.int16) - 128).astype(np.int8)
    ints = np.rint(quantized.dequantize() / scale) + zero_point
    out: Int8 = np.clip(ints, -128, 127).astype(np.int8)
    return out
