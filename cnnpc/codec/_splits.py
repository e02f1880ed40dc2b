"""Bit widths per split: which split tensors travel below 8 bits, in one normal form.

A configuration's codec bits are a mapping split (candidate name) -> 1..8; 8 is the int8 tensor
as before codecs existed, so 8-bit entries are dropped and the normal form is the sorted pairs
below 8 (empty: int8 everywhere). The oracle's cache key, its results and accuracy tables use it,
so "8 everywhere" keys, stores and prints exactly as before.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from cnnpc.codec._codec import MAX_BITS, MIN_BITS
from cnnpc.errors import InputError

SplitBits = tuple[tuple[str, int], ...]
"""Splits quantized below 8 bits and their bit widths, sorted by name (8 bits: absent)."""


def split_bits(bits: Mapping[str, int] | None, names: Collection[str]) -> SplitBits:
    """`bits` validated (known split names, integers in 1..8), 8-bit entries dropped, sorted."""
    out: list[tuple[str, int]] = []
    for name, width in (bits or {}).items():
        if name not in names:
            raise InputError(f"unknown split {name!r} for bits (valid: {', '.join(names)})")
        if isinstance(width, bool) or not isinstance(width, int):
            raise InputError(f"bits of {name!r} must be an integer, got {width!r}")
        if not MIN_BITS <= width <= MAX_BITS:
            raise InputError(f"bits of {name!r} must be in {MIN_BITS}..{MAX_BITS}, got {width}")
        if width != MAX_BITS:
            out.append((name, width))
    return tuple(sorted(out))


def parse_split_bits(text: str, names: Collection[str]) -> SplitBits:
    """``block1=4;block13=2`` (empty: 8 bits everywhere); a split named twice is refused."""
    bits: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(";"))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not value.strip().lstrip("-").isdigit():
            raise InputError(f"bits must be split=N pairs separated by ';', got {item!r}")
        if name in bits:
            raise InputError(f"split {name!r} is given bits twice")
        bits[name] = int(value)
    return split_bits(bits, names)


def format_split_bits(bits: SplitBits) -> str:
    """The text `parse_split_bits` reads."""
    return ";".join(f"{name}={width}" for name, width in bits)


def split_bits_texts(bits: SplitBits) -> list[str]:
    """``block1 2 bits`` per split below 8 bits, for messages (`split_bits`' order)."""
    return [f"{name} {width} bits" for name, width in bits]
