"""The codec of a split tensor: how many bits each element travels in, and the lossless coder.

One frozen record (`Codec`) with one JSON form, read by the planners (pricing), the plan records
(plan.json) and, later, the runtime. The default (8 bits, no entropy coder) is what every plan
sent before codecs existed: the int8 tensor as the end part emits it, byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cnnpc.errors import InputError

MIN_BITS = 1
MAX_BITS = 8
ENTROPY_CODERS = ("none", "zstd")
CODEC_INSTALL = 'pip install "cnnpc[codec]"'
"""The install line of the optional entropy coder (the zstandard package)."""


class PayloadError(InputError):
    """A coded tensor that does not decode to its shape and bit width (refused, one line)."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Codec:
    """Affine quantization to `bits` (1..8, scale and zero point per tensor), dense bit packing,
    then `entropy` ("none" or "zstd") over the packed bytes."""

    bits: int = MAX_BITS
    entropy: str = "none"

    def __post_init__(self) -> None:
        if not _is_int(self.bits) or not MIN_BITS <= self.bits <= MAX_BITS:
            raise InputError(
                f"bits must be an integer in {MIN_BITS}..{MAX_BITS}, got {self.bits!r}"
            )
        if self.entropy not in ENTROPY_CODERS:
            raise InputError(
                f"unknown entropy coder {self.entropy!r} (valid: {', '.join(ENTROPY_CODERS)})"
            )

    @property
    def is_default(self) -> bool:
        """8 bits, no coder: the int8 tensor exactly as before codecs existed."""
        return self == DEFAULT_CODEC

    @property
    def label(self) -> str:
        """'int8', '4 bits', '4 bits + zstd'."""
        base = (
            "int8" if self.bits == MAX_BITS else f"{self.bits} bit" + ("s" if self.bits > 1 else "")
        )
        return base if self.entropy == "none" else f"{base} + {self.entropy}"

    def as_dict(self) -> dict[str, object]:
        """The one JSON form."""
        return {"bits": self.bits, "entropy": self.entropy}

    @staticmethod
    def from_dict(raw: object) -> Codec:
        """The one reader of `as_dict`'s form (an InputError names what is wrong)."""
        if not isinstance(raw, Mapping) or set(raw) - {"bits", "entropy"}:
            raise InputError("a codec is an object with 'bits' and 'entropy'")
        return Codec(bits=raw.get("bits", MAX_BITS), entropy=raw.get("entropy", "none"))


DEFAULT_CODEC = Codec()


def parse_bits(text: str) -> tuple[int, ...]:
    """`--bits 8,6,4`: distinct widths in 1..8, widest first (ties in price go to the wider)."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise InputError(
            f"expected comma-separated bit widths in {MIN_BITS}..{MAX_BITS}, got {text!r}"
        )
    widths: list[int] = []
    for item in items:
        try:
            value = int(item)
        except ValueError:
            raise InputError(f"{item!r} is not a bit width (an integer in 1..8)") from None
        if not MIN_BITS <= value <= MAX_BITS:
            raise InputError(f"bit width {value} is outside {MIN_BITS}..{MAX_BITS}")
        if value in widths:
            raise InputError(f"bit width {value} is repeated")
        widths.append(value)
    return tuple(sorted(widths, reverse=True))


def parse_entropy(text: str) -> str:
    """`--entropy none|zstd`."""
    if text not in ENTROPY_CODERS:
        raise InputError(f"unknown entropy coder {text!r} (valid: {', '.join(ENTROPY_CODERS)})")
    return text
