"""What a sweep is asked to do, validated once (CLI and Python callers share it)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cnnpc.codec import MAX_BITS, CodecChoice, CodecMeasure
from cnnpc.errors import InputError
from cnnpc.planner import LinkOptions, Planner, planner_for
from cnnpc.records import DEFAULT_MAX_FINETUNES
from cnnpc.search import SearchObjective
from cnnpc.spaces import KeepGrid


@dataclass(frozen=True)
class SweepSettings:
    model: str
    devices: tuple[str, ...]
    bandwidths: tuple[float, ...]  # edge->cloud Mbps, sorted
    acc_floor: float
    links: LinkOptions = field(default_factory=LinkOptions)
    """Uplink rate, link latencies, conventions, overhead, compute rule: one validated object."""
    max_finetunes: int = DEFAULT_MAX_FINETUNES
    surrogate: bool = True
    keep_grid: KeepGrid | None = None
    """None: the search space's own grid; "channels" or fractions replace it (--keep-grid)."""
    objective: SearchObjective = field(default_factory=SearchObjective)
    """What each configuration's plan minimises, and the best plan with it (default latency)."""
    bits: tuple[int, ...] = (MAX_BITS,)
    """The split tensors' bit widths a configuration chooses among (as `cnnpc search --bits`)."""
    entropy: str = "none"
    codec_measures: tuple[CodecMeasure, ...] = ()
    """The coder's ratio and the codec's time per candidate and width (none: ratio 1, 0 ms)."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.acc_floor) and 0 < self.acc_floor <= 1):
            raise InputError(f"--acc-floor must be in (0, 1], got {self.acc_floor!r}")
        if not self.devices:
            raise InputError("a sweep needs at least one device")
        if not self.bandwidths:
            raise InputError("a sweep needs at least one bandwidth")
        if any(not (math.isfinite(b) and b > 0) for b in self.bandwidths):
            raise InputError("bandwidths must be finite numbers > 0")
        if list(self.bandwidths) != sorted(set(self.bandwidths)):
            raise InputError("bandwidths must be sorted and distinct")
        if self.objective.pareto:
            raise InputError("--objective pareto is a search's (cnnpc search), not a sweep's")
        if self.max_finetunes < 0:
            raise InputError(f"--max-finetunes must be >= 0, got {self.max_finetunes}")
        if self.coded:
            CodecChoice(self.bits, self.entropy, self.codec_measures)  # checks widths, coder
            if MAX_BITS not in self.bits:
                raise InputError(f"--bits must include {MAX_BITS} (the unpruned model's tensor)")

    @property
    def coded(self) -> bool:
        """Whether split tensors get a codec other than int8 alone (--bits, --entropy)."""
        return self.bits != (MAX_BITS,) or self.entropy != "none"

    @property
    def searched_bits(self) -> tuple[int, ...]:
        return tuple(sorted(self.bits, reverse=True))

    @property
    def uplink_mbps(self) -> float:
        return self.links.uplink_mbps

    @property
    def conventions(self) -> str:
        return self.links.conventions

    @property
    def prune_compute(self) -> str:
        return self.links.prune_compute

    def planner(self, device: str, bandwidth_mbps: float) -> Planner:
        from cnnpc.search import with_keep_grid

        goal = self.objective
        planner = planner_for(
            self.model,
            device,
            bandwidth_mbps=bandwidth_mbps,
            options=self.links,
            codecs=(
                CodecChoice((MAX_BITS,), self.entropy, self.codec_measures) if self.coded else None
            ),
            radio=goal.radio,
            throughput=goal.needs_stages,
        )
        planner = with_keep_grid(planner, self.keep_grid)
        goal.check(planner)
        return planner
