"""Fidelity: with CNNPC's conventions our latency model reproduces CNNPC's get_T on its tables.

The reference below is CNNPC's published formula (reference README), computed straight from its
T_R and T_C tables; ours prices the same layout from tensor sizes, link rates and our conventions.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest

from cnnpc.latency import CNNPC_OVERHEAD_MS, Conventions
from cnnpc.planner import Planner
from cnnpc.profiles import Profile, load_profile
from cnnpc.records import KeepConfig, LinkSetting

TOLERANCE = 0.005  # 0.5 %
RATES_MBPS = (1, 5, 10)
# CNNPC's T_C row 6 (mobilenet block13, 14x14x96) is 4.5074 ms at 20 Mbps: 11,816 elements, not
# the 18,816 the tensor has. Where that tensor crosses a link we compare against the table with
# that row recomputed by CNNPC's own rule (and check the anomaly itself below).
ANOMALY = {"mobilenet": 6}


def _table(path: Path) -> list[list[float]]:
    with path.open() as f:
        return [[float(v) for k, v in row.items() if k != "row"] for row in csv.DictReader(f)]


def _cnnpc_get_t(t_r, t_c, i, j, r1, r2):
    """CNNPC's latency of splits (i, j) with pruning rates (r1, r2), one value per deployment."""
    ovh = 0.53 + 1.13
    end = lambda lo, hi: sum(row[0] for row in t_r[lo:hi])  # noqa: E731
    edge = lambda lo, hi: sum(row[1] for row in t_r[lo:hi])  # noqa: E731
    cloud = lambda lo, hi: sum(row[2] for row in t_r[lo:hi])  # noqa: E731
    n = len(t_r)
    if i != j:
        return {
            "end_edge_cloud": end(0, i + 1)
            + edge(i + 1, j + 1)
            + cloud(j + 1, n)
            + t_c[i + 1][0] * (1 - r1)
            + t_c[j + 1][1] * (1 - r2)
            + ovh
        }
    return {
        "end_edge": end(0, i + 1) + edge(i + 1, n) + t_c[i + 1][0] * (1 - r1) + ovh,
        "end_cloud": end(0, i + 1)
        + cloud(i + 1, n)
        + (t_c[i + 1][0] + t_c[i + 1][1]) * (1 - r1)
        + ovh,
        "edge_cloud": edge(0, i + 1) + cloud(i + 1, n) + t_c[i + 1][1] * (1 - r1) + t_c[0][0] + ovh,
    }


def _keep_fractions(channels: int) -> list[float]:
    """CNNPC's most extreme rate (one channel left), the 1/8 grid, and no pruning."""
    return sorted({1 / channels, *(k / 8 for k in range(1, 9))})


def _ours(planner: Planner, profile: Profile, i, j, k1, k2):
    names = [t.name for t in profile.candidates]
    fractions = {names[i]: k1} if i == j else {names[i]: k1, names[j]: k2}
    comp = KeepConfig.from_fractions(profile.space, fractions)
    if i != j:
        return {"end_edge_cloud": planner.plan(i + 1, j + 1, comp).latency_ms}
    n = profile.n_segments
    return {
        "end_edge": planner.plan(i + 1, n, comp).latency_ms,
        "end_cloud": planner.plan(i + 1, i + 1, comp).latency_ms,
        "edge_cloud": planner.plan(0, i + 1, comp).latency_ms,
    }


def _cases(model: str):
    yield from itertools.product(("MI8", "MI8SE"), RATES_MBPS)


@pytest.mark.parametrize("model", ["mobilenet", "resnet"])
def test_reproduces_cnnpc_formula_on_its_tables(model, reference_dir):
    checked = 0
    worst = 0.0
    for device, rate in _cases(model):
        profile = load_profile(model, device)
        t_r = _table(reference_dir / f"{model}_T_R_{device}.csv")
        t_c = _table(reference_dir / f"{model}_T_C_20M-{rate}M.csv")
        fixed_t_c = [row[:] for row in t_c]
        if model in ANOMALY:
            row = ANOMALY[model]
            elements = profile.boundaries[row].elements
            for col, mbps in ((0, 20), (1, rate)):
                fixed_t_c[row][col] = elements * 8 / (mbps * profile.source_mbit_bits) * 1000
        links = LinkSetting(uplink_mbps=20, bandwidth_mbps=rate, mbit_bits=profile.source_mbit_bits)
        conv = Conventions(overhead_ms=CNNPC_OVERHEAD_MS, bytes_per_element=1, prune_compute="none")
        planner = Planner(profile, links, conv)
        chans = [t.channels for t in profile.candidates]
        m = len(chans)
        for i, j in itertools.combinations_with_replacement(range(m), 2):
            for k1 in _keep_fractions(chans[i]):
                for k2 in _keep_fractions(chans[j]) if i != j else [1.0]:
                    if model == "resnet" and i == 0 and j == 1 and k1 != k2:
                        continue  # block1 and block6 are one residual group: one fraction
                    crosses_anomaly = model in ANOMALY and ANOMALY[model] - 1 in (i, j)
                    table = fixed_t_c if crosses_anomaly else t_c
                    ref = _cnnpc_get_t(t_r, table, i, j, 1 - k1, 1 - k2)
                    ours = _ours(planner, profile, i, j, k1, k2)
                    assert ours.keys() == ref.keys()
                    for mode, value in ref.items():
                        err = abs(ours[mode] - value) / value
                        worst = max(worst, err)
                        assert err <= TOLERANCE, (
                            model,
                            device,
                            rate,
                            i,
                            j,
                            k1,
                            k2,
                            mode,
                            ours[mode],
                            value,
                        )
                        checked += 1
    assert checked > 1000
    assert worst < TOLERANCE


def test_untouched_tables_match_except_the_published_anomaly(reference_dir):
    """Every published T_C entry follows bytes*8/rate within 0.1 %, except mobilenet row 6."""
    for model in ("mobilenet", "resnet"):
        profile = load_profile(model, "MI8")
        for rate in RATES_MBPS:
            t_c = _table(reference_dir / f"{model}_T_C_20M-{rate}M.csv")
            for row, tensor in enumerate(profile.boundaries):
                for col, mbps in ((0, 20), (1, rate)):
                    ours = tensor.elements * 8 / (mbps * profile.source_mbit_bits) * 1000
                    if ANOMALY.get(model) == row:
                        implied = t_c[row][col] * mbps * profile.source_mbit_bits / 8 / 1000
                        assert round(implied) == 11816
                        assert ours / t_c[row][col] > 1.5
                    else:
                        assert ours == pytest.approx(t_c[row][col], rel=1e-3), (model, rate, row)


def test_cnnpc_bounds_from_reference_readme():
    """The reference README's bounds for mobilenet on MI8 at 10 Mbps under CNNPC's conventions."""
    profile = load_profile("mobilenet", "MI8")
    planner = Planner(profile, LinkSetting(20, 10, profile.source_mbit_bits))
    base = planner.baselines()
    assert base["end_only"].latency_ms == pytest.approx(80.1, abs=0.05)
    assert base["edge_only"].latency_ms == pytest.approx(84.4, abs=0.05)
    assert planner.best().latency_ms == pytest.approx(50.6, abs=0.05)
    assert planner.best().splits == ("block10",)
    # CNNPC prices cloud-only as the raw input sent straight over the edge->cloud link (120.8 ms);
    # we relay it through the edge like its end->cloud mode, so it also pays the 20 Mbps hop.
    direct = base["cloud_only"].latency_ms - base["cloud_only"].breakdown.uplink_ms
    assert direct == pytest.approx(120.8, abs=0.05)
