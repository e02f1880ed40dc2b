"""Incremental upload against whole-model-first, for the queries issued while the model uploads.

Queries arrive every 1/rate s from t = 0; a query issued at t runs the plan available at t (it
is not re-planned mid-flight). Both strategies are compared over the whole model's upload time,
after which both run the full model's best plan. Upload and queries are assumed not to slow each
other (the upload rate is the share of the link given to the upload).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from cnnpc.errors import InputError
from cnnpc.upload._order import UploadOrder


@dataclass(frozen=True)
class Comparison:
    window_s: float  # the whole model's upload time
    queries: int  # issued in [0, window_s)
    incremental_mean_ms: float
    whole_first_mean_ms: float
    saved_s: float  # total query latency saved over the window
    saved_pct: float


def _count(start: float, end: float, rate: float) -> int:
    """Query instants k / rate (k = 0, 1, ...) in [start, end)."""
    if end <= start:
        return 0
    return max(0, math.ceil(end * rate - 1e-9)) - max(0, math.ceil(start * rate - 1e-9))


def compare(order: UploadOrder, query_rate: float) -> Comparison:
    """Mean per-query latency of both strategies over the whole model's upload time."""
    if not math.isfinite(query_rate) or query_rate <= 0:
        raise InputError(f"query rate must be a finite number > 0, got {query_rate!r}")
    window = order.whole_upload_s
    edges = [0.0] + [s.done_s for s in order.steps if s.done_s < window] + [window]
    latencies = [order.initial.latency_ms] + [s.latency_ms for s in order.steps]
    incremental = 0.0
    queries = 0
    for k, (start, end) in enumerate(itertools.pairwise(edges)):
        count = _count(start, end, query_rate)
        incremental += count * latencies[k]
        queries += count
    whole = queries * order.initial.latency_ms
    if queries == 0:  # nothing to upload
        full = order.full.latency_ms
        return Comparison(window, 0, full, full, 0.0, 0.0)
    return Comparison(
        window_s=window,
        queries=queries,
        incremental_mean_ms=incremental / queries,
        whole_first_mean_ms=whole / queries,
        saved_s=(whole - incremental) / 1000.0,
        saved_pct=100.0 * (whole - incremental) / whole,
    )
