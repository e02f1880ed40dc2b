"""Every layout's latency, traffic, phone energy and slowest pipeline stage at once, as
(N+1) x (N+1) matrices from prefix sums.

Each cell is what `cnnpc.latency.breakdown` (and `phone_energy`, `stage_ms`) gives the layout,
so the planner's optimum over a matrix is exact (tests check each against brute force).
"""

from __future__ import annotations

import functools

import numpy as np

from cnnpc.errors import InputError
from cnnpc.latency import CostTables, PhonePower
from cnnpc.records import FloatArray, LinkSetting

OBJECTIVES = ("latency", "energy", "throughput")


@functools.cache
def _below_diagonal(side: int) -> tuple[np.ndarray, np.ndarray]:
    """The cells a > b of a side x side matrix: no layout (computed once per size, as the
    planner prices every configuration of a grid with it)."""
    rows, cols = np.tril_indices(side, k=-1)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


def _relay_fix(matrix: FloatArray, tables: CostTables, down: CostTables) -> None:
    """A split tensor relayed end->cloud (0 < a == b < N) has one codec, coded once: other
    codec pairs are no layout there; its codec time is paid once, not on both links."""
    n = tables.n_segments
    inner = np.arange(1, n)
    if down.codec != tables.codec:
        matrix[inner, inner] = np.inf
    elif tables.codec_ms is not None:
        matrix[inner, inner] -= tables.codec_ms[inner]


def latency_matrix(tables: CostTables, down: CostTables | None = None) -> FloatArray:
    """L[a, b] = latency of layout (a, b); +inf below the diagonal (a > b is not a layout).

    `down`: the edge->cloud tensor's tables when its codec is not `tables`' (end->edge's)."""
    n = tables.n_segments
    second = tables if down is None else down
    zero = np.zeros(1)
    end_cum = np.concatenate([zero, np.cumsum(tables.end)])
    edge_cum = np.concatenate([zero, np.cumsum(tables.edge)])
    cloud_cum = np.concatenate([zero, np.cumsum(tables.cloud)])
    row = end_cum + tables.up_ms - edge_cum  # depends on a only
    col = edge_cum + second.down_ms + (cloud_cum[n] - cloud_cum)  # depends on b only
    matrix: FloatArray = row[:, None] + col[None, :] + tables.overhead_ms
    if down is not None or tables.codec_ms is not None:
        _relay_fix(matrix, tables, second)
    matrix[_below_diagonal(n + 1)] = np.inf
    return matrix


def traffic_matrix(tables: CostTables, down: CostTables | None = None) -> FloatArray:
    """T[a, b] = bytes sent over both links by layout (a, b) (`down`: as `latency_matrix`)."""
    n = tables.n_segments
    second = tables if down is None else down
    matrix: FloatArray = tables.bytes[:, None] + second.bytes[None, :]
    if second.codec != tables.codec:
        inner = np.arange(1, n)
        matrix[inner, inner] = np.inf
    matrix[_below_diagonal(n + 1)] = np.inf
    return matrix


def check_objective(objective: str) -> str:
    if objective not in OBJECTIVES:
        raise InputError(f"unknown objective {objective!r} (valid: {', '.join(OBJECTIVES)})")
    return objective


def _cums(tables: CostTables) -> tuple[FloatArray, FloatArray, FloatArray]:
    zero = np.zeros(1)
    return (
        np.concatenate([zero, np.cumsum(tables.end)]),
        np.concatenate([zero, np.cumsum(tables.edge)]),
        np.concatenate([zero, np.cumsum(tables.cloud)]),
    )


def _finish(matrix: FloatArray, tables: CostTables, second: CostTables, relay: float) -> FloatArray:
    """A relayed split tensor (0 < a == b < N) has one codec, its time paid once (`relay`
    scales that time: the idle W for energy); below the diagonal is no layout."""
    n = tables.n_segments
    inner = np.arange(1, n)
    if second.codec != tables.codec:
        matrix[inner, inner] = np.inf
    elif second.codec_ms is not None:
        matrix[inner, inner] -= relay * second.codec_ms[inner]
    matrix[_below_diagonal(n + 1)] = np.inf
    return matrix


def energy_matrix(
    tables: CostTables, power: PhonePower, down: CostTables | None = None
) -> FloatArray:
    """E[a, b] = the phone's energy (mJ) of layout (a, b) (`down`: as `latency_matrix`)."""
    n = tables.n_segments
    second = tables if down is None else down
    end_cum, edge_cum, cloud_cum = _cums(tables)
    offloaded = np.arange(n + 1) < n
    overhead = tables.overhead_ms
    row = (
        power.compute_w * end_cum
        + power.tx_w * tables.up_ms  # up_ms[N] is 0: an end-only plan sends nothing
        + np.where(offloaded, power.rx_w * overhead, power.idle_w * overhead)
        - power.idle_w * edge_cum
    )
    col = power.idle_w * (edge_cum + second.down_ms + (cloud_cum[n] - cloud_cum))
    matrix: FloatArray = row[:, None] + col[None, :]
    return _finish(matrix, tables, second, power.idle_w)


def slowest_matrix(
    tables: CostTables, links: LinkSetting, down: CostTables | None = None
) -> FloatArray:
    """S[a, b] = the slowest pipeline stage (ms) of layout (a, b): 1000 / S frames per second."""
    n = tables.n_segments
    second = tables if down is None else down
    end_cum, edge_cum, cloud_cum = _cums(tables)
    used = np.arange(n + 1) < n
    up = np.where(used, np.maximum(tables.up_ms - 2.0 * links.uplink_latency_ms, 0.0), 0.0)
    down_ms = second.down_ms.copy()
    if second.codec == tables.codec and second.codec_ms is not None:
        inner = np.arange(1, n)  # relayed: the codec's time is paid on the first link
        down_diag = down_ms[inner] - second.codec_ms[inner]
    else:
        down_diag = None
    down_stage = np.where(used, np.maximum(down_ms - 2.0 * links.latency_ms, 0.0), 0.0)
    row = np.maximum(end_cum, up)
    col = np.maximum(down_stage, cloud_cum[n] - cloud_cum)
    edge = edge_cum[None, :] - edge_cum[:, None]
    matrix: FloatArray = np.maximum(np.maximum(row[:, None], col[None, :]), edge)
    if down_diag is not None:
        inner = np.arange(1, n)
        relayed = np.maximum(down_diag - 2.0 * links.latency_ms, 0.0)
        matrix[inner, inner] = np.maximum(
            np.maximum(row[inner], cloud_cum[n] - cloud_cum[inner]), relayed
        )
    return _finish(matrix, tables, second, 0.0)
