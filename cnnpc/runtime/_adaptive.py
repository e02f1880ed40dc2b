"""The adaptive end device: before each request, the plan of a set with the least predicted
latency under the links as this client measures them, with hysteresis; every switch logged.

Estimates. Each link keeps a smoothed goodput (a geometric moving average of bytes x 8 over the
time the tensor took, less the link's fixed cost) and fixed cost (latency there and back and
per-message cost: the intercept of time against bytes over recent samples, once they span
sizes at least 2x apart; until then the plan set's design value). The client measures the
end->edge link itself (round trip less the edge's service time); the edge reports its
forwarding time and the cloud its service time, which give the edge->cloud link. A link the
current plan does not use is not measured, so every `probe_every` requests the client runs one
request with the plan predicted best among those that use it (a probe: counted, never a switch
by itself; a probe that finds the link over twice as fast as believed is repeated on the next
request, until the estimate catches up), and the next choice sees the fresh estimate.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from cnnpc.errors import CnnpcError
from cnnpc.records import DeployedPlan, LinkSetting, PlanSet, SetPlan
from cnnpc.runtime._client import COMPONENTS, EdgeConnection, InferResult, split_timings
from cnnpc.runtime._part import Image, Part, dequantize, image_batch, quantize
from cnnpc.runtime._rpc import Addresses, Tensor
from cnnpc.runtime._server import result_limit
from cnnpc.runtime._setserver import plan_numbers
from cnnpc.runtime._shaper import TokenBucket
from cnnpc.runtime._tls import Transport
from cnnpc.runtime._verify import verify_parts

log = logging.getLogger("cnnpc.runtime")
DEFAULT_SMOOTHING = 0.4
DEFAULT_PROBE_EVERY = 10


@dataclass
class LinkEstimate:
    """Goodput (Mbps) and fixed cost (ms) of one link, from (bytes, ms) samples."""

    rate_mbps: float
    fixed_ms: float
    mbit_bits: float
    smoothing: float = DEFAULT_SMOOTHING
    window: int = 16
    samples: deque[tuple[float, float]] = field(default_factory=deque)
    count: int = 0

    def add(self, n_bytes: float, ms: float) -> float | None:
        """Take one sample; returns the goodput it alone shows (None: unusable sample)."""
        if not (n_bytes > 0 and ms > 0 and math.isfinite(ms)):
            return None
        self.count += 1
        self.samples.append((n_bytes, ms))
        while len(self.samples) > self.window:
            self.samples.popleft()
        sizes = [b for b, _ in self.samples]
        if max(sizes) >= 2 * min(sizes):
            slope, intercept = np.polyfit(sizes, [m for _, m in self.samples], 1)
            if slope > 0 and intercept >= 0:
                self.fixed_ms += self.smoothing * (float(intercept) - self.fixed_ms)
        transfer = max(ms - self.fixed_ms, 0.05 * ms)
        rate = n_bytes * 8.0 / (transfer / 1e3) / self.mbit_bits
        s = self.smoothing
        self.rate_mbps = math.exp((1 - s) * math.log(self.rate_mbps) + s * math.log(rate))
        return rate


@dataclass(frozen=True)
class SwitchEvent:
    """One change of plan: when, why (the estimates), and what each plan was predicted to take."""

    time_s: float
    request: int
    from_plan: str | None
    to_plan: str
    uplink_mbps: float
    uplink_fixed_ms: float
    bandwidth_mbps: float
    fixed_ms: float
    from_ms: float | None
    to_ms: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AdaptiveResult:
    result: InferResult
    plan: str
    probe: bool


class AdaptiveClient:
    """Runs requests of a plan set against its edge server (see the module doc)."""

    def __init__(
        self,
        table: PlanSet,
        plans: Mapping[str, DeployedPlan],
        edge: Addresses | None,
        *,
        shape: bool = False,
        threads: int = 1,
        timeout: float = 60.0,
        probe_every: int = DEFAULT_PROBE_EVERY,
        smoothing: float = DEFAULT_SMOOTHING,
        clock: Callable[[], float] = time.monotonic,
        transport: Transport | None = None,
        options: Sequence[tuple[str, int | str]] = (),
    ) -> None:
        """`transport`: TLS or plaintext, as the caller's policy decided (None: plaintext to
        loopback only); `edge`: one address or several replicas; `options`: extra channel
        options."""
        if set(plans) != {p.label for p in table.plans}:
            raise CnnpcError("the plans given are not the plan set's")
        if any(p.link("end") is not None for p in plans.values()) and edge is None:
            raise CnnpcError("plans of the set send to the edge: give its address (--edge)")
        self.table = table
        self.plans = dict(plans)
        self.numbers = plan_numbers(table)
        loaded: dict[str, Part] = {}
        ends = {str(p.part_path("end")) for p in plans.values() if p.part("end") is not None}
        verify_parts([(path, Path(path).read_bytes()) for path in sorted(ends)])  # one child
        self.ends: dict[str, Part | None] = {}
        for label, plan in plans.items():
            spec = plan.part("end")
            if spec is None:
                self.ends[label] = None
                continue
            path = str(plan.part_path("end"))
            if path not in loaded:
                loaded[path] = Part(plan.part_path("end"), spec, threads)
            self.ends[label] = loaded[path]
        design = table.links
        self.up = LinkEstimate(design.uplink_mbps, design.uplink_fixed_ms, design.mbit_bits)
        self.down = LinkEstimate(design.bandwidth_mbps, design.fixed_ms, design.mbit_bits)
        self.up.smoothing = self.down.smoothing = smoothing
        uplink = next((p.link("end") for p in plans.values() if p.link("end")), None)
        self.bucket = TokenBucket(uplink.rate_bytes_per_s) if shape and uplink else None
        max_result = max(result_limit(p) for p in plans.values())
        self.connection = (
            None
            if edge is None
            else EdgeConnection(
                edge, self.bucket, timeout, max_result, transport=transport, options=options
            )
        )
        self.probe_every = probe_every
        self.current: str | None = None
        self.switches: list[SwitchEvent] = []
        self.probes = 0
        self.requests = 0
        self._clock = clock
        self._started = clock()
        self._since_down = 0

    # -- estimates and choice ---------------------------------------------------------

    def links(self) -> LinkSetting:
        """The links as estimated now (latency = half the fixed cost, as a one-way figure)."""
        return replace(
            self.table.links,
            uplink_mbps=self.up.rate_mbps,
            bandwidth_mbps=self.down.rate_mbps,
            uplink_latency_ms=self.up.fixed_ms / 2.0,
            latency_ms=self.down.fixed_ms / 2.0,
            uplink_message_ms=0.0,
            message_ms=0.0,
        )

    def choose(self) -> tuple[SetPlan, bool]:
        """The plan for the next request, and whether it is a probe of the cloud link."""
        links = self.links()
        chosen = self.table.choose(self.current, links)
        if chosen.label != self.current:
            before = None if self.current is None else self.table.plan(self.current)
            event = SwitchEvent(
                time_s=self._clock() - self._started,
                request=self.requests,
                from_plan=self.current,
                to_plan=chosen.label,
                uplink_mbps=links.uplink_mbps,
                uplink_fixed_ms=self.up.fixed_ms,
                bandwidth_mbps=links.bandwidth_mbps,
                fixed_ms=self.down.fixed_ms,
                from_ms=None if before is None else before.predict_ms(links),
                to_ms=chosen.predict_ms(links),
            )
            self.switches.append(event)
            log.info("switch %s", event.as_dict())
            self.current = chosen.label
        users = [p for p in self.table.plans if p.uses_downlink]
        if not chosen.uses_downlink and users and self._since_down >= self.probe_every:
            return min(users, key=lambda p: p.predict_ms(links)), True
        return chosen, False

    # -- requests -------------------------------------------------------------------------

    def infer(self, image: Image) -> AdaptiveResult:
        plan, probe = self.choose()
        result = self.run(plan.label, image)
        self.requests += 1
        self.probes += probe
        deployed = self.plans[plan.label]
        up, down = deployed.link("end"), deployed.link("edge")
        if up is not None:
            self.up.add(up.bytes, result.timings["uplink_ms"])
        if down is not None:
            before = self.down.rate_mbps
            seen = self.down.add(down.bytes, result.timings["downlink_ms"])
            # a probe that finds the link much faster than believed probes again next time
            again = probe and seen is not None and seen > 2.0 * before
            self._since_down = self.probe_every if again else 0
        else:
            self._since_down += 1
        return AdaptiveResult(result, plan.label, probe)

    def run(self, label: str, image: Image) -> InferResult:
        """One request with plan `label` (no choice, no estimates)."""
        plan = self.plans[label]
        x = image_batch(image, plan.input)
        start = time.perf_counter()
        q: Tensor = quantize(x, next(iter(plan.parts.values())).input)
        end_ms = 0.0
        end = self.ends[label]
        if end is not None:
            q, end_ms = end.run(q)
        timings = dict.fromkeys(COMPONENTS[:-1], 0.0) | {"end_ms": end_ms}
        output = list(plan.parts.values())[-1].output
        link = plan.link("end")
        if link is not None:
            assert self.connection is not None
            remote, q, rtt = self.connection.request(
                q, self.numbers[label], output, link.spec, link.codec
            )
            timings.update(split_timings(remote, rtt))
        scores = dequantize(q, output).reshape(-1)
        total = (time.perf_counter() - start) * 1e3
        timings["overhead_ms"] = total - sum(timings[k] for k in COMPONENTS[:-1])
        timings["total_ms"] = total
        return InferResult(int(np.argmax(scores)), scores, timings)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()

    def __enter__(self) -> AdaptiveClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
