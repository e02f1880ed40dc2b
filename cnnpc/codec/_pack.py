"""Dense bit packing: n codes of `bits` bits each in ceil(n * bits / 8) bytes.

Bits go least significant first, element after element (code i occupies bits i*bits ..
(i+1)*bits - 1 of the little-endian bit stream), so 8-bit packing is the codes' own bytes and
the int8 tensor of today travels unchanged. The last byte's unused high bits are zero.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cnnpc.codec._codec import MAX_BITS, MIN_BITS, PayloadError
from cnnpc.errors import InputError

Codes = npt.NDArray[np.uint8]


def packed_size(count: int, bits: int) -> int:
    """Bytes that `count` codes of `bits` bits take packed."""
    return (count * bits + 7) // 8


def _check_bits(bits: int) -> None:
    if not MIN_BITS <= bits <= MAX_BITS:
        raise InputError(f"bits must be in {MIN_BITS}..{MAX_BITS}, got {bits}")


def pack(codes: npt.ArrayLike, bits: int) -> bytes:
    """`codes` (integers in 0 .. 2**bits - 1, any shape, read in C order) packed densely."""
    _check_bits(bits)
    flat = np.asarray(codes).reshape(-1)
    if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= 1 << bits):
        raise InputError(f"codes must be in 0..{(1 << bits) - 1} to pack in {bits} bits")
    flat = flat.astype(np.uint8)
    if bits == MAX_BITS:
        return flat.tobytes()
    planes = (flat[:, None] >> np.arange(bits, dtype=np.uint8)) & 1
    return np.packbits(planes.reshape(-1), bitorder="little").tobytes()


def unpack(payload: bytes, count: int, bits: int) -> Codes:
    """The `count` codes `pack` wrote into `payload`; a payload of another length is refused."""
    _check_bits(bits)
    expected = packed_size(count, bits)
    if len(payload) != expected:
        raise PayloadError(
            f"a packed tensor of {count} elements at {bits} bits takes {expected} bytes, "
            f"got {len(payload)}"
        )
    raw = np.frombuffer(payload, dtype=np.uint8)
    if bits == MAX_BITS:
        return raw.copy()
    planes = np.unpackbits(raw, count=count * bits, bitorder="little").reshape(count, bits)
    weights = (1 << np.arange(bits)).astype(np.uint8)
    codes: Codes = (planes * weights).sum(axis=1, dtype=np.uint16).astype(np.uint8)
    return codes
