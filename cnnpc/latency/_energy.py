"""The phone's energy per inference and a plan's pipeline stages, from its latency breakdown.

Energy (mJ = W x ms). Every millisecond of a plan's latency is spent by the phone in one state:
computing its part (end_ms, at compute W), transmitting the split tensor (the whole end->edge
time, uplink_ms: bytes at the rate, the link's latency there and back, its per-message cost and
the codec's time, at the radio's tx W), receiving the result (the fixed overhead, which the
latency model counts as the result's way back, at rx W; only when a server runs something), and
waiting (edge, edge->cloud and cloud time, and an end-only plan's overhead, at idle W). Not
counted: the radio's promotion and tail energy after a request (Huang et al.: seconds on LTE,
which a stream amortises and a single request does not), the screen, the camera.

Throughput: with the tiers and links working as a pipeline, a frame leaves every `stage_ms`
after the previous one, set by the slowest stage (end, uplink, edge, downlink, cloud). A link's
stage is its time less its latency there and back (propagation overlaps in a pipeline; bytes,
per-message cost and codec time do not); the fixed overhead delays each frame but is no stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cnnpc.errors import InputError
from cnnpc.latency._model import Breakdown
from cnnpc.profiles import PowerFigures
from cnnpc.records import LinkSetting

STAGES = ("end", "uplink", "edge", "downlink", "cloud")


@dataclass(frozen=True)
class PhonePower:
    """The figures one energy price uses: the phone's compute and idle W, and its radio's."""

    radio: str
    compute_w: float
    idle_w: float
    tx_w: float
    rx_w: float

    @staticmethod
    def of(figures: PowerFigures | None, radio: str | None = None) -> PhonePower | None:
        """The price of `radio` (None: the profile's default radio); None when a figure lacks."""
        if figures is None or figures.missing(radio):
            return None
        found = figures.radio(radio)
        assert found is not None and figures.compute_w is not None and figures.idle_w is not None
        name = radio or figures.default_radio or ""
        return PhonePower(name, figures.compute_w, figures.idle_w, found.tx_w, found.rx_w)

    @staticmethod
    def needed(figures: PowerFigures | None, radio: str | None, what: str) -> PhonePower:
        """The price `what` (an objective) needs, or one line naming the missing figures."""
        power = PhonePower.of(figures, radio)
        if power is None:
            lacking = (figures or PowerFigures()).missing(radio)
            raise InputError(
                f"{what} needs the phone's power figures; the profile lacks {', '.join(lacking)} "
                "(set them with 'cnnpc profile import --power end=compute:W,idle:W --radio "
                "TECH[=tx:W,rx:W]')"
            )
        return power

    def as_dict(self) -> dict[str, object]:
        return {
            "radio": self.radio,
            "compute_w": self.compute_w,
            "idle_w": self.idle_w,
            "tx_w": self.tx_w,
            "rx_w": self.rx_w,
        }


@dataclass(frozen=True)
class Energy:
    """The phone's energy of one inference, part by part (mJ)."""

    compute_mj: float
    tx_mj: float
    rx_mj: float
    idle_mj: float

    @property
    def total_mj(self) -> float:
        return self.compute_mj + self.tx_mj + self.rx_mj + self.idle_mj

    def as_dict(self) -> dict[str, float]:
        return {
            "compute_mj": self.compute_mj,
            "tx_mj": self.tx_mj,
            "rx_mj": self.rx_mj,
            "idle_mj": self.idle_mj,
        }


def phone_energy(priced: Breakdown, power: PhonePower, offloaded: bool) -> Energy:
    """The energy of a plan priced `priced` (`offloaded`: a server runs part of it) — the
    reference the planner's energy matrices are tested against."""
    back = priced.overhead_ms if offloaded else 0.0
    waiting = priced.edge_ms + priced.downlink_ms + priced.cloud_ms + priced.overhead_ms - back
    return Energy(
        compute_mj=power.compute_w * priced.end_ms,
        tx_mj=power.tx_w * priced.uplink_ms,
        rx_mj=power.rx_w * back,
        idle_mj=power.idle_w * waiting,
    )


def stage_ms(
    priced: Breakdown, links: LinkSetting, uses_uplink: bool, uses_downlink: bool
) -> tuple[float, ...]:
    """Each pipeline stage's time per frame, in `STAGES` order (a link unused: 0)."""
    up = priced.uplink_ms - 2.0 * links.uplink_latency_ms if uses_uplink else 0.0
    down = priced.downlink_ms - 2.0 * links.latency_ms if uses_downlink else 0.0
    return (priced.end_ms, max(up, 0.0), priced.edge_ms, max(down, 0.0), priced.cloud_ms)


def frames_per_s(slowest_ms: float) -> float:
    """The steady-state frame rate of a pipeline whose slowest stage takes `slowest_ms`."""
    return math.inf if slowest_ms <= 0.0 else 1000.0 / slowest_ms
