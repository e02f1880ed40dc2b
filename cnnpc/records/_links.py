"""The two links' settings (rates, one-way latencies, per-message costs): one frozen record
with one JSON form, priced by the latency model, stored with a search, written into plan sets."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cnnpc.records._numbers import MBIT_SI, check_ms, check_number, check_rate

FloatArray = npt.NDArray[np.float64]
"""The latency model's arrays (per-segment times, tensor bytes)."""


@dataclass(frozen=True)
class LinkSetting:
    """The two links: rate (Mbps; `mbit_bits` bit/s per "Mbps"), one-way latency and a fixed
    per-message cost (ms) each.

    A request that uses a link pays the tensor's bytes at its rate once, and its latency twice
    (the tensor goes, the result comes back the same way) plus its per-message cost: what no rate
    explains. A link the plan does not use costs nothing; the end->cloud relay uses both.
    """

    uplink_mbps: float = 20.0
    bandwidth_mbps: float = 10.0
    mbit_bits: float = MBIT_SI
    uplink_latency_ms: float = 0.0
    latency_ms: float = 0.0
    uplink_message_ms: float = 0.0
    message_ms: float = 0.0

    def __post_init__(self) -> None:
        for name in ("uplink_mbps", "bandwidth_mbps"):
            check_rate(name, getattr(self, name))
        check_number("mbit_bits", self.mbit_bits, strict=True)
        for name in ("uplink_latency_ms", "latency_ms", "uplink_message_ms", "message_ms"):
            check_ms(name, getattr(self, name))

    def as_dict(self) -> dict[str, float]:
        """The one JSON form (the field order is the documents' key order)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, float]) -> LinkSetting:
        """The one reader of `as_dict`'s form: an unknown key is a TypeError, a value that is
        not a number a ValueError, one out of bounds an InputError."""
        return cls(**{str(k): float(v) for k, v in raw.items()})

    def ms(self, n_bytes: FloatArray | float, mbps: float) -> FloatArray | float:
        """Milliseconds to send `n_bytes` at `mbps`."""
        return n_bytes * 8.0 / (mbps * self.mbit_bits) * 1000.0

    @property
    def uplink_fixed_ms(self) -> float:
        """What a request pays for using end->edge, whatever it sends."""
        return 2.0 * self.uplink_latency_ms + self.uplink_message_ms

    @property
    def fixed_ms(self) -> float:
        """What a request pays for using edge->cloud, whatever it sends."""
        return 2.0 * self.latency_ms + self.message_ms
