"""What a search is asked to do, validated once (CLI and Python callers share it)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from cnnpc.codec import MAX_BITS, CodecChoice, CodecMeasure
from cnnpc.errors import InputError
from cnnpc.planner import LinkOptions, Planner, planner_for
from cnnpc.search._objective import SearchObjective
from cnnpc.search._strategies import STRATEGIES
from cnnpc.spaces import KeepGrid


def with_keep_grid(planner: Planner, grid: KeepGrid | None) -> Planner:
    """The same planner over the search space on another keep grid (None: the space's own)."""
    space = planner.profile.space.with_keep_grid(grid)
    if space is planner.profile.space:
        return planner
    profile = replace(planner.profile, space=space)
    return Planner(
        profile,
        planner.links,
        planner.conventions,
        planner.end_memory_mb,
        planner.codecs,
        radio=planner.radio,
        throughput=planner.throughput,
    )


@dataclass(frozen=True)
class SearchSettings:
    model: str
    device: str
    bandwidth_mbps: float
    acc_floor: float | None = None
    latency_budget_ms: float | None = None
    strategy: str = "tpe"
    trials: int = 20
    timeout_s: float | None = None
    seed: int = 0
    links: LinkOptions = field(default_factory=LinkOptions)
    """Uplink rate, link latencies, conventions, overhead, compute rule: one validated object."""
    keep_grid: KeepGrid | None = None
    """None: the search space's own grid; "channels" or fractions replace it (--keep-grid)."""
    objective: SearchObjective = field(default_factory=SearchObjective)
    """What each configuration's layout minimises (default: latency, as before objectives)."""
    bits: tuple[int, ...] = (MAX_BITS,)
    """The bit widths a split tensor may be sent in (--bits; 8 alone: int8, as before codecs)."""
    entropy: str = "none"
    """The split tensors' lossless coder (--entropy)."""
    codec_measures: tuple[CodecMeasure, ...] = ()
    """The coder's ratio and the codec's time per candidate and width (none: ratio 1, 0 ms)."""

    def __post_init__(self) -> None:
        if (self.acc_floor is None) == (self.latency_budget_ms is None):
            raise InputError("give exactly one of --acc-floor and --latency-budget")
        if self.acc_floor is not None and not (
            math.isfinite(self.acc_floor) and 0 < self.acc_floor <= 1
        ):
            raise InputError(f"--acc-floor must be in (0, 1], got {self.acc_floor!r}")
        budget = self.latency_budget_ms
        if budget is not None and not (math.isfinite(budget) and budget > 0):
            raise InputError(f"--latency-budget must be a finite number > 0, got {budget!r}")
        if self.strategy not in STRATEGIES:
            raise InputError(f"unknown strategy {self.strategy!r} (valid: {', '.join(STRATEGIES)})")
        if self.strategy == "cnnpc" and self.acc_floor is None:
            raise InputError(
                "--strategy cnnpc searches under --acc-floor only (as CNNPC's A0 mode)"
            )
        goal = self.objective.objective
        if goal != "latency" and self.strategy == "cnnpc":
            raise InputError(f"--strategy cnnpc minimises latency only, not --objective {goal}")
        if goal in ("energy", "throughput") and self.acc_floor is None:
            raise InputError(
                f"--objective {goal} searches under --acc-floor A0 (the best plan above it; "
                "--latency-budget then bounds every plan's latency)"
            )
        if self.trials < 1:
            raise InputError(f"--trials must be >= 1, got {self.trials}")
        if self.timeout_s is not None and not self.timeout_s > 0:
            raise InputError(f"--timeout must be > 0, got {self.timeout_s}")
        if self.coded:
            CodecChoice(self.bits, self.entropy, self.codec_measures)  # checks widths, coder
            if MAX_BITS not in self.bits:
                raise InputError(
                    f"--bits must include {MAX_BITS} (the int8 tensor the unpruned model sends), "
                    f"e.g. --bits {MAX_BITS},{','.join(map(str, self.bits))}"
                )
        grid = self.keep_grid
        if isinstance(grid, tuple) and (
            not grid or grid[-1] != 1.0 or any(not (math.isfinite(f) and 0 < f <= 1) for f in grid)
        ):
            raise InputError(f"--keep-grid fractions must be in (0, 1] and end with 1, got {grid}")

    @property
    def coded(self) -> bool:
        """Whether split tensors get a codec other than int8 alone (--bits, --entropy)."""
        return self.bits != (MAX_BITS,) or self.entropy != "none"

    @property
    def searched_bits(self) -> tuple[int, ...]:
        """The widths a configuration chooses among (8 alone: no bit dimension)."""
        return tuple(sorted(self.bits, reverse=True))

    def codec_extra(self) -> dict[str, object]:
        """What a coded search stores with itself (nothing for int8: old searches resume)."""
        if not self.coded:
            return {}
        return {"bits": list(self.searched_bits), "entropy": self.entropy}

    @property
    def mode(self) -> str:
        return "acc_floor" if self.acc_floor is not None else "latency_budget"

    @property
    def target(self) -> float:
        value = self.acc_floor if self.acc_floor is not None else self.latency_budget_ms
        assert value is not None
        return value

    def planner(self) -> Planner:
        """The search's planner (priced for its objective; one line when power figures lack)."""
        planner = with_keep_grid(self._base_planner(), self.keep_grid)
        self.objective.check(planner)
        return planner

    @property
    def uplink_mbps(self) -> float:
        return self.links.uplink_mbps

    def _base_planner(self) -> Planner:
        return planner_for(
            self.model,
            self.device,
            bandwidth_mbps=self.bandwidth_mbps,
            options=self.links,
            codecs=(
                CodecChoice((MAX_BITS,), self.entropy, self.codec_measures) if self.coded else None
            ),
            radio=self.objective.radio,
            throughput=self.objective.needs_stages,
        )
