"""A stream of frames through a deployed plan, `window` frames in flight: its frame rate.

A camera sends frames continuously; with the tiers and links working as a pipeline, the rate is
set by the slowest stage (end, uplink, edge, downlink, cloud), not by their sum. Each stage here
is one serial resource, and a frame holds only the stage it is in:

- a tier's compute is one processor: a `Part` runs one invoke at a time (its lock);
- a shaped link is one pipe: its `TokenBucket` is shared by the frames on it, so two frames in
  flight share its rate (the second one's bytes wait for the first's);
- a server serves concurrent calls on its worker threads, so the edge computing frame i + 1
  does not wait for frame i's call to the cloud to come back.

`stream` keeps `window` frames in flight, each on a thread of its own that carries it through
`PlanClient.infer`; the window is bounded by the calls a server serves at once
(`Limits.max_connections`): beyond it, frames would queue inside the servers and the
measurement would be of that queue. Results come back in frame order.

`PacedPart` stands a tier in for a slower one (tests, benchmarks): on one host every tier
computes equally fast, so each part is paced to the profile's time for its tier, the lock held
for the whole time so that the tier stays one processor.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

import numpy as np

from cnnpc.errors import InputError
from cnnpc.records import DeployedPlan
from cnnpc.runtime._client import InferResult, PlanClient
from cnnpc.runtime._limits import Limits
from cnnpc.runtime._part import Image, Part
from cnnpc.runtime._rpc import Tensor
from cnnpc.runtime._server import PartServer

SERVER_CALLS = Limits().max_connections
"""The calls a server serves at once unless told otherwise (`cnnpc serve --max-connections`)."""


def check_window(window: int, limit: int = SERVER_CALLS) -> int:
    """`window` frames in flight, refused in one line unless in [1, `limit`]."""
    if not 1 <= window <= limit:
        raise InputError(
            f"--window must be in [1, {limit}] (the calls a server serves at once), got {window}"
        )
    return window


def warmup_frames(window: int) -> int:
    """Frames left out of the steady state: the pipeline filling (twice the window, >= 2)."""
    return max(2, 2 * window)


@dataclass(frozen=True)
class Frame:
    """One frame of a stream: its index in the input, its class and its times."""

    index: int
    result: InferResult
    start_s: float
    """When it entered the pipeline, seconds from the stream's start."""
    done_s: float

    @property
    def latency_ms(self) -> float:
        return (self.done_s - self.start_s) * 1e3


@dataclass(frozen=True)
class StreamResult:
    """A stream's frames in index order and its steady-state figures (after `warmup` frames)."""

    window: int
    warmup: int
    frames: tuple[Frame, ...]

    @property
    def steady(self) -> tuple[Frame, ...]:
        return self.frames[self.warmup :]

    @property
    def fps(self) -> float:
        """Frames done per second from the last warm-up frame done to the last frame done."""
        done = sorted(f.done_s for f in self.frames)
        span = done[-1] - done[self.warmup - 1]
        return math.inf if span <= 0 else (len(done) - self.warmup) / span

    @property
    def median_ms(self) -> float:
        return float(np.median([f.latency_ms for f in self.steady]))

    @property
    def p90_ms(self) -> float:
        return float(np.percentile([f.latency_ms for f in self.steady], 90))

    def as_dict(self) -> dict[str, float | int]:
        return {
            "window": self.window,
            "frames": len(self.frames),
            "warmup_frames": self.warmup,
            "fps": self.fps,
            "latency_median_ms": self.median_ms,
            "latency_p90_ms": self.p90_ms,
        }


def stream(
    client: PlanClient,
    images: Sequence[Image],
    window: int,
    *,
    limit: int = SERVER_CALLS,
    warmup: int | None = None,
) -> StreamResult:
    """Send `images` as a stream, `window` frames in flight (at most `limit`, the servers'
    calls at once); the first error ends the stream and is raised."""
    check_window(window, limit)
    warm = warmup_frames(window) if warmup is None else warmup
    if warm < 1 or len(images) < warm + 2:
        raise InputError(
            f"a stream with window {window} needs at least {warm + 2} frames "
            f"({warm} to fill the pipeline, then 2), got {len(images)}"
        )
    origin = time.perf_counter()

    def one(index: int) -> Frame:
        start = time.perf_counter() - origin
        result = client.infer(images[index])
        return Frame(index, result, start, time.perf_counter() - origin)

    # the pool's queue hands out frames in order; its `window` threads are the frames in flight
    with ThreadPoolExecutor(max_workers=window, thread_name_prefix="cnnpc-frame") as pool:
        futures: list[Future[Frame]] = [pool.submit(one, i) for i in range(len(images))]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        error = next((f.exception() for f in futures if f in done and f.exception()), None)
        if error is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            raise error
        frames = tuple(f.result() for f in futures)
    return StreamResult(window, warm, frames)


def pipeline_fps(stages_ms: Sequence[float], window: int) -> float:
    """The frame rate `window` frames in flight reach through serial stages of `stages_ms`
    each: every frame takes their sum, at most `window` go at once, and none passes the
    slowest stage faster than it serves (a closed pipeline of fixed times)."""
    total, slowest = sum(stages_ms), max(stages_ms)
    if slowest <= 0:
        return math.inf
    return min(window * 1000.0 / total, 1000.0 / slowest)


def plan_stages(plan: DeployedPlan, compute_ms: Sequence[float]) -> tuple[float, ...]:
    """The plan's stages (end, uplink, edge, downlink, cloud; ms) when its tiers compute for
    `compute_ms` (end, edge, cloud) and each link carries its tensor at the plan's rate (a
    link the plan does not use: 0)."""
    end, edge, cloud = compute_ms
    links = [plan.link(tier) for tier in ("end", "edge")]
    up, down = (0.0 if lk is None else lk.coded_bytes / lk.rate_bytes_per_s * 1e3 for lk in links)
    return (end, up, edge, down, cloud)


class PacedPart(Part):
    """`part` taking `ms` per run (a tier that fast; see the module doc): the real invoke, then
    a sleep for what is left, the tier's lock held throughout."""

    def __init__(self, part: Part, ms: float) -> None:  # no super().__init__: it wraps `part`
        if not math.isfinite(ms) or ms < 0:
            raise InputError(f"a paced part's time must be a finite number >= 0, got {ms}")
        self.spec = part.spec
        self.part = part
        self.ms = ms
        self.over: list[float] = []
        """Runs whose real invoke took longer than `ms` (by how many ms)."""
        self._pace = threading.Lock()

    def run(self, x: Tensor) -> tuple[Tensor, float]:
        with self._pace:
            start = time.perf_counter()
            out, ms = self.part.run(x)
            if ms > self.ms:
                self.over.append(ms - self.ms)
            left = self.ms / 1e3 - (time.perf_counter() - start)
            if left > 0:
                time.sleep(left)
            return out, (time.perf_counter() - start) * 1e3


def pace_server(server: PartServer, ms: float) -> None:
    """Pace every route of `server` to `ms` of compute per request (split evenly over a route's
    parts)."""
    for number, route in server.routes.items():
        if route.parts:
            each = ms / len(route.parts)
            parts = tuple(PacedPart(p, each) for p in route.parts)
            server.routes[number] = replace(route, parts=parts)


def pace_client(client: PlanClient, ms: float) -> None:
    """Pace the client's end part (if any) to `ms` per frame."""
    if client.end is not None:
        client.end = PacedPart(client.end, ms)


@contextlib.contextmanager
def paced_servers(
    plan: DeployedPlan, compute_ms: Sequence[float], limits: Limits | None = None
) -> Iterator[tuple[str, int]]:
    """A three-tier plan's cloud and edge servers on loopback ports, links shaped to the plan,
    the edge and cloud paced to `compute_ms` (end, edge, cloud); yields the edge's address."""
    if plan.link("end") is None or plan.link("edge") is None:
        raise InputError("paced servers take a plan that uses both links (end, edge and cloud)")
    cloud = PartServer(plan, "cloud", shape=True, limits=limits)
    pace_server(cloud, compute_ms[2])
    with cloud:
        edge = PartServer(plan, "edge", next_address=cloud.start(), shape=True, limits=limits)
        pace_server(edge, compute_ms[1])
        with edge:
            yield edge.start()
