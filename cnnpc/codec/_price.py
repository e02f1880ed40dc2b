"""What the planners need to price a codec: the allowed bit widths, the coder, and (measured
elsewhere, given here) the coder's ratio and the encode/decode time per candidate and width.

A link's tensor at candidate c coded at b bits costs
    bytes = int8 bytes x b / 8 / ratio(c, b)
(ratio: packed bytes / coded bytes, 1.0 without a coder or without a measurement) and
encode_ms(c, b) + decode_ms(c, b) of time (0 unless measured). The raw input and the model's
output are never coded: they stay as they are priced today.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cnnpc.codec._codec import MAX_BITS, Codec
from cnnpc.errors import InputError


@dataclass(frozen=True)
class CodecMeasure:
    """One candidate at one bit width: the coder's ratio and the codec's time (ms)."""

    candidate: str
    bits: int
    ratio: float = 1.0
    """Packed bytes / coded bytes (> 0; above 1 when the coder shrinks the tensor)."""
    encode_ms: float = 0.0
    decode_ms: float = 0.0
    elements: int = 0
    """The elements of the tensor the times were measured on (0: the priced tensor itself);
    the planner scales the times to the elements it prices (codec time is linear in them)."""
    kept: float = 1.0
    """The fraction of the candidate's channels the measured tensor kept (the channels pruning
    keeps): the coder's ratio changes with it (the channels pruning keeps carry the most
    signal and code worse), so a choice holding several fractions of one candidate and width
    interpolates the ratio between them."""

    def __post_init__(self) -> None:
        Codec(self.bits)  # checks the width
        if not (math.isfinite(self.kept) and 0 < self.kept <= 1):
            raise InputError(f"a measure's kept fraction must be in (0, 1], got {self.kept}")
        if not (math.isfinite(self.ratio) and self.ratio > 0):
            raise InputError(f"an entropy ratio must be finite and > 0, got {self.ratio}")
        for name in ("encode_ms", "decode_ms"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise InputError(f"{name} must be finite and >= 0, got {value}")


@dataclass(frozen=True)
class CodecChoice:
    """The codecs a planner may give each split: every width in `bits` with `entropy`."""

    bits: tuple[int, ...] = (MAX_BITS,)
    entropy: str = "none"
    measures: tuple[CodecMeasure, ...] = ()
    _by_key: dict[tuple[str, int], tuple[CodecMeasure, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        if not self.bits:
            raise InputError("a codec choice needs at least one bit width")
        for b in self.bits:
            Codec(b, self.entropy)
        if len(set(self.bits)) != len(self.bits):
            raise InputError(f"bit widths repeated: {', '.join(map(str, self.bits))}")
        keys = [(m.candidate, m.bits, m.kept) for m in self.measures]
        if len(set(keys)) != len(keys):
            raise InputError("one measure per candidate, bit width and kept fraction")
        for m in sorted(self.measures, key=lambda m: m.kept):
            self._by_key[(m.candidate, m.bits)] = (*self._by_key.get((m.candidate, m.bits), ()), m)

    @property
    def codecs(self) -> tuple[Codec, ...]:
        """The allowed codecs, widest first (equal prices go to the wider, the more accurate)."""
        return tuple(Codec(b, self.entropy) for b in sorted(self.bits, reverse=True))

    def ratio(self, candidate: str, codec: Codec, kept: float = 1.0) -> float:
        """The coder's ratio on `candidate`'s tensor with `kept` of its channels: linear
        between the fractions measured, the nearest one outside them (1.0: no coder or no
        measure)."""
        found = self._by_key.get((candidate, codec.bits), ())
        if codec.entropy == "none" or not found:
            return 1.0
        fractions = [m.kept for m in found]
        return float(np.interp(kept, fractions, [m.ratio for m in found]))

    def factor(self, candidate: str, codec: Codec, kept: float = 1.0) -> float:
        """What the int8 tensor's bytes are multiplied by under `codec`, `kept` of the
        candidate's channels kept."""
        return codec.bits / MAX_BITS / self.ratio(candidate, codec, kept)

    def codec_ms(
        self, candidate: str, codec: Codec, elements: float | None = None, kept: float = 1.0
    ) -> float:
        """Encode plus decode time of the tensor at `candidate` under `codec` (of `elements`
        elements when given and the measure says what it was measured on), from the measure
        nearest to `kept` of its channels."""
        found = self._by_key.get((candidate, codec.bits), ())
        if not found:
            return 0.0
        measure = min(found, key=lambda m: abs(m.kept - kept))
        total = measure.encode_ms + measure.decode_ms
        if elements is None or not measure.elements:
            return total
        return total * elements / measure.elements


DEFAULT_CHOICE = CodecChoice()
"""int8 only, no coder: the pricing of every plan before codecs existed."""
