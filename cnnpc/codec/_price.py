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

    def __post_init__(self) -> None:
        Codec(self.bits)  # checks the width
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
    _by_key: dict[tuple[str, int], CodecMeasure] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        if not self.bits:
            raise InputError("a codec choice needs at least one bit width")
        for b in self.bits:
            Codec(b, self.entropy)
        if len(set(self.bits)) != len(self.bits):
            raise InputError(f"bit widths repeated: {', '.join(map(str, self.bits))}")
        keys = [(m.candidate, m.bits) for m in self.measures]
        if len(set(keys)) != len(keys):
            raise InputError("one measure per candidate and bit width")
        self._by_key.update(zip(keys, self.measures, strict=True))

    @property
    def codecs(self) -> tuple[Codec, ...]:
        """The allowed codecs, widest first (equal prices go to the wider, the more accurate)."""
        return tuple(Codec(b, self.entropy) for b in sorted(self.bits, reverse=True))

    def _measure(self, candidate: str, bits: int) -> CodecMeasure | None:
        return self._by_key.get((candidate, bits))

    def factor(self, candidate: str, codec: Codec) -> float:
        """What the int8 tensor's bytes are multiplied by under `codec`."""
        measure = self._measure(candidate, codec.bits)
        ratio = 1.0 if codec.entropy == "none" or measure is None else measure.ratio
        return codec.bits / MAX_BITS / ratio

    def codec_ms(self, candidate: str, codec: Codec, elements: float | None = None) -> float:
        """Encode plus decode time of the tensor at `candidate` under `codec` (of `elements`
        elements when given and the measure says what it was measured on)."""
        measure = self._measure(candidate, codec.bits)
        if measure is None:
            return 0.0
        total = measure.encode_ms + measure.decode_ms
        if elements is None or not measure.elements:
            return total
        return total * elements / measure.elements


DEFAULT_CHOICE = CodecChoice()
"""int8 only, no coder: the pricing of every plan before codecs existed."""
