"""Incremental offloading (IONN): the order to upload a model's parts to an edge server.

A phone meeting an edge for the first time runs everything itself. While it uploads the model,
each query runs the best plan the edge can already serve: a layout (a, b) needs the edge to hold
every segment in [a, b). Greedy, as IONN: upload next the interval whose upload gives the largest
latency benefit per byte, re-planning the split with what the edge then holds. Intervals may
include segments already held (only the missing ones are sent), so a middle segment that helps
only together with its neighbours is still reachable. By default only end/edge layouts count
(IONN has no cloud); with `cloud=True` the cloud is assumed to hold the full model already.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cnnpc.errors import InputError
from cnnpc.planner import Planner, latency_matrix, mode_of, traffic_matrix
from cnnpc.records import NO_PRUNING, KeepConfig, LayoutPrices, UploadStep
from cnnpc.records import UploadLayout as Layout

EPS_MS = 1e-9


@dataclass(frozen=True)
class UploadOrder:
    initial: Layout  # nothing on the edge yet
    full: Layout  # the whole model on the edge
    steps: tuple[UploadStep, ...]
    segment_bytes: tuple[float, ...]
    upload_mbps: float
    mbit_bits: float
    cloud: bool

    @property
    def total_bytes(self) -> float:
        return float(sum(self.segment_bytes))

    @property
    def whole_upload_s(self) -> float:
        """Time to upload the whole model (the whole-model-first strategy's wait)."""
        return self.total_bytes * 8.0 / (self.upload_mbps * self.mbit_bits)

    @property
    def full_benefit_s(self) -> float:
        """When the incremental upload reaches the whole model's best latency."""
        return self.steps[-1].done_s if self.steps else 0.0

    @property
    def unneeded_bytes(self) -> float:
        """Parameters never uploaded: they do not make any query faster."""
        return self.total_bytes - (self.steps[-1].cumulative_bytes if self.steps else 0.0)

    def latency_at(self, t: float) -> float:
        """Expected latency of a query issued `t` s after the upload started (incremental)."""
        latency = self.initial.latency_ms
        for step in self.steps:
            if step.done_s <= t:
                latency = step.latency_ms
        return latency

    def whole_first_latency_at(self, t: float) -> float:
        return self.full.latency_ms if t >= self.whole_upload_s else self.initial.latency_ms


class LayoutChooser:
    """Best layout given which segments the edge holds: the latency of every layout (inf where
    not allowed) and its traffic (the tie-break). The upload order and the runtime that runs it
    (`cnnpc infer --upload`) choose with the same object."""

    def __init__(self, latency: npt.ArrayLike, traffic: npt.ArrayLike) -> None:
        self.lat = np.asarray(latency, dtype=np.float64)
        self.traffic = np.asarray(traffic, dtype=np.float64)
        if self.lat.ndim != 2 or self.lat.shape[0] != self.lat.shape[1] or self.lat.shape[0] < 2:
            raise InputError("layout latencies must be an (N+1) x (N+1) matrix")
        if self.traffic.shape != self.lat.shape or np.isnan(self.lat).any():
            raise InputError("layout traffic must match the latencies (and no NaN)")
        self.n = self.lat.shape[0] - 1
        self.a, self.b = np.indices(self.lat.shape)
        if not np.isfinite(self.lat[self.a == self.b]).any():
            raise InputError("some layout that needs no edge must be allowed")

    @staticmethod
    def of_planner(planner: Planner, keep: KeepConfig, cloud: bool) -> LayoutChooser:
        """The planner's layouts; without `cloud` only end/edge ones (b = N)."""
        tables = planner.tables(keep)
        lat = latency_matrix(tables)
        a, b = np.indices(lat.shape)
        allowed = (a <= b) & (True if cloud else b == tables.n_segments)
        return LayoutChooser(np.where(allowed, lat, np.inf), traffic_matrix(tables))

    def prices(self) -> LayoutPrices:
        """The latencies and traffic as upload.json records them."""
        return LayoutPrices(_rows(self.lat), _rows(self.traffic))

    @staticmethod
    def of_prices(prices: LayoutPrices) -> LayoutChooser:
        """The chooser of an upload folder's recorded prices."""
        return LayoutChooser(prices.latency_ms, prices.traffic)

    def best(self, held: npt.NDArray[np.bool_]) -> Layout:
        count = np.concatenate([[0], np.cumsum(held)])
        served = (count[self.b] - count[self.a]) == (self.b - self.a)
        lat = np.where(served, self.lat, np.inf)
        fastest = float(lat.min())
        ties = np.flatnonzero(lat.ravel() <= fastest + EPS_MS * max(1.0, fastest))
        pick = int(ties[np.argmin(self.traffic.ravel()[ties])])
        a, b = divmod(pick, self.n + 1)
        return Layout(fastest, a, b, mode_of(a, b, self.n))


def _rows(matrix: npt.NDArray[np.float64]) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in matrix)


def upload_order(
    planner: Planner,
    segment_bytes: Sequence[float],
    upload_mbps: float,
    keep: KeepConfig = NO_PRUNING,
    cloud: bool = False,
) -> UploadOrder:
    """IONN's greedy upload order (see the module docstring) for `planner`'s profile."""
    n = planner.profile.n_segments
    if len(segment_bytes) != n:
        raise InputError(f"need bytes for {n} segments, got {len(segment_bytes)}")
    if not np.isfinite(upload_mbps) or upload_mbps <= 0:
        raise InputError(f"upload rate must be a finite number > 0, got {upload_mbps!r}")
    sizes = np.asarray(segment_bytes, dtype=np.float64)
    solver = LayoutChooser.of_planner(planner, keep, cloud)
    held = np.zeros(n, dtype=bool)
    initial = current = solver.best(held)
    full = solver.best(np.ones(n, dtype=bool))
    names = [s.name for s in planner.profile.segments]
    mbit = planner.links.mbit_bits
    steps: list[UploadStep] = []
    sent = 0.0
    while current.latency_ms > full.latency_ms + EPS_MS * max(1.0, full.latency_ms):
        choice = None
        for i in range(n):
            for j in range(i + 1, n + 1):
                missing = ~held[i:j]
                if not missing.any():
                    continue
                trial = held.copy()
                trial[i:j] = True
                layout = solver.best(trial)
                benefit = current.latency_ms - layout.latency_ms
                if benefit <= EPS_MS:
                    continue
                size = float(sizes[i:j][missing].sum())
                ratio = np.inf if size == 0 else benefit / size
                key = (ratio, -size, -i)
                if choice is None or key > choice[0]:
                    choice = (key, i, j, size, layout, benefit)
        assert choice is not None  # the full layout's interval always helps
        _, i, j, size, layout, benefit = choice
        newly = [k for k in range(i, j) if not held[k]]
        held[i:j] = True
        sent += size
        steps.append(
            UploadStep(
                step=len(steps) + 1,
                segments=tuple(names[k] for k in newly),
                first=newly[0],
                last=newly[-1],
                bytes=size,
                cumulative_bytes=sent,
                done_s=sent * 8.0 / (upload_mbps * mbit),
                latency_ms=layout.latency_ms,
                benefit_ms=benefit,
                a=layout.a,
                b=layout.b,
                mode=layout.mode,
            )
        )
        current = layout
    return UploadOrder(
        initial=initial,
        full=full,
        steps=tuple(steps),
        segment_bytes=tuple(float(x) for x in sizes),
        upload_mbps=upload_mbps,
        mbit_bits=mbit,
        cloud=cloud,
    )
