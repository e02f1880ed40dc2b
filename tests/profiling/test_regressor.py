"""The cost regressor on synthetic measurements with a known law, and the measurements file."""

from __future__ import annotations

import math

import pytest

from cnnpc.errors import ProfileError
from cnnpc.profiling import KINDS, Measurement, evaluate, fit_regressor, heldout_keeps
from cnnpc.profiling._regressor import feature_matrix
from cnnpc.profiling._store import measurements_bytes, read_measurements

KEEPS = (1.0, 0.75, 0.5, 0.25, 0.125)
# (flops, params, in_bytes, out_bytes) of 6 unpruned segments of different shapes
SEGMENTS = [
    (4.0e6, 900, 12288, 32768),
    (9.0e6, 5000, 32768, 16384),
    (2.0e7, 40000, 16384, 6144),
    (6.0e6, 30000, 6144, 2048),
    (1.2e7, 90000, 2048, 1024),
    (3.0e6, 160000, 1024, 10),
]


def _rows(law) -> list[Measurement]:
    """Every segment at every keep: widths shrink FLOPs ~ keep^2 inside, bytes ~ keep."""
    rows = []
    for k, (flops, params, inb, outb) in enumerate(SEGMENTS):
        for keep in KEEPS:
            kin = 1.0 if k == 0 else keep
            kout = 1.0 if k == len(SEGMENTS) - 1 else keep
            f = dict(
                flops=round(flops * kin * kout),
                params=round(params * kin * kout),
                in_bytes=round(inb * kin),
                out_bytes=round(outb * kout),
            )
            ms = law(f)
            for tier in ("end", "edge", "cloud"):
                rows.append(
                    Measurement(
                        segment=k,
                        name=f"s{k}",
                        tier=tier,
                        format="int8",
                        keep=keep,
                        keep_in=kin,
                        keep_out=kout,
                        in_channels=max(1, round(32 * kin)),
                        out_channels=max(1, round(32 * kout)),
                        median_ms=ms * (1.0 if tier == "end" else 0.5),
                        p10_ms=ms * 0.95,
                        p90_ms=ms * 1.05,
                        **f,
                    )
                )
    return rows


def test_heldout_keeps_are_interior_and_alternate():
    assert heldout_keeps(KEEPS) == (0.75, 0.25)
    assert heldout_keeps((1.0, 0.5, 0.25)) == (0.5,)
    assert heldout_keeps((1.0, 0.5)) == ()


def test_time_proportional_to_flops_is_learnt():
    rows = _rows(lambda f: 2e-7 * f["flops"] + 0.01)
    report = evaluate(rows)
    assert report["heldout_keeps"] == [0.75, 0.25]
    for tier in ("end", "edge", "cloud"):
        info = report["tiers"][tier]
        assert set(info["kinds"]) == set(KINDS)
        linear = info["kinds"]["linear"]
        assert linear["n_test"] == 2 * len(SEGMENTS)
        assert linear["median_pct"] < 1.0 and linear["max_pct"] < 2.0
        chosen = info["kinds"][info["chosen"]]
        assert chosen["mean_pct"] == min(k["mean_pct"] for k in info["kinds"].values())


def test_power_law_is_fitted_by_the_log_families():
    rows = _rows(lambda f: 1e-4 * f["flops"] ** 0.6 * (f["out_bytes"] + 1) ** 0.2)
    report = evaluate(rows)
    info = report["tiers"]["end"]
    # a power law is exactly what both log families represent
    assert info["kinds"]["loglinear"]["max_pct"] < 1.0
    assert info["kinds"]["anchored"]["max_pct"] < 1.0
    assert info["chosen"] in ("loglinear", "anchored")


def test_gbr_cannot_interpolate_as_well_as_the_true_law():
    rows = _rows(lambda f: 2e-7 * f["flops"] + 0.01)
    report = evaluate(rows)
    kinds = report["tiers"]["cloud"]["kinds"]
    assert kinds["gbr"]["median_pct"] > kinds["linear"]["median_pct"]


def test_predictions_positive_and_fit_needs_data():
    rows = [r for r in _rows(lambda f: 1e-7 * f["flops"]) if r.tier == "end"]
    for kind in KINDS:
        model = fit_regressor(rows, kind)
        predicted = model.predict(feature_matrix(rows), [r.segment for r in rows])
        assert (predicted > 0).all()
    with pytest.raises(ProfileError, match="at least 2"):
        fit_regressor(rows[:1], "linear")
    with pytest.raises(ProfileError, match="unknown regressor"):
        fit_regressor(rows, "svm")
    pruned_only = [r for r in rows if r.keep < 1.0]
    with pytest.raises(ProfileError, match="no unpruned measurement"):
        fit_regressor(pruned_only, "anchored")


def test_anchored_learns_the_effect_of_pruning_per_segment():
    """Segments with a hidden per-segment cost: only the anchored family can know it."""
    hidden = [1.0, 3.0, 0.5, 2.0, 1.5, 4.0]
    rows = _rows(lambda f: 1e-7 * f["flops"] ** 0.9)
    rows = [
        Measurement(**{**r.__dict__, "median_ms": r.median_ms * hidden[r.segment]}) for r in rows
    ]
    info = evaluate(rows)["tiers"]["end"]
    assert info["chosen"] == "anchored"
    assert info["kinds"]["anchored"]["max_pct"] < 1.0
    assert info["kinds"]["loglinear"]["median_pct"] > 10.0


def test_measurements_round_trip_and_bad_cell(tmp_path):
    rows = _rows(lambda f: 1e-7 * f["flops"] + 0.003)
    path = tmp_path / "host_measurements.csv"
    path.write_bytes(measurements_bytes(rows))
    back = read_measurements(path)
    assert len(back) == len(rows)
    for a, b in zip(rows, back, strict=True):
        assert (a.segment, a.tier, a.flops, a.in_channels) == (
            b.segment,
            b.tier,
            b.flops,
            b.in_channels,
        )
        assert math.isclose(a.median_ms, b.median_ms, rel_tol=1e-5)
    lines = path.read_text().splitlines()
    cells = lines[3].split(",")
    cells[-3] = "-2"
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ProfileError, match=r"row 2, column median_ms: must be a finite number > 0"):
        read_measurements(path)
