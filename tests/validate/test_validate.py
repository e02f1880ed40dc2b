"""validate: predicted (host cost model) against measured (real runtime, shaped links)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pytest

from cnnpc.errors import InputError
from cnnpc.runtime import InferResult
from cnnpc.validate import (
    CALIBRATION_ROUNDS,
    MAX_ROUNDS,
    compare,
    fit_calibration,
    predict,
    request_images,
    validate,
)


@dataclass
class FakeCostModel:
    """Segment k costs (k + 1) * 0.1 ms on the end, half that on the edge, a tenth in the cloud."""

    image_size: int = 32
    asked: list | None = None

    def segment_ms(self, tier, channels):
        if self.asked is not None:
            self.asked.append(dict(channels))
        factor = {"end": 1.0, "edge": 0.5, "cloud": 0.1}[tier]
        return [(k + 1) * 0.1 * factor for k in range(8)]


def test_prediction_sums_segments_and_prices_links(three_tier):
    cost = FakeCostModel(asked=[])
    p = predict(three_tier, cost)
    assert p["end_ms"] == pytest.approx(0.1 + 0.2)  # segments 0, 1
    assert p["edge_ms"] == pytest.approx(0.5 * (0.3 + 0.4 + 0.5))
    assert p["cloud_ms"] == pytest.approx(0.1 * (0.6 + 0.7 + 0.8))
    up, down = three_tier.links
    assert p["uplink_ms"] == pytest.approx(up.bytes * 8 / 20e6 * 1e3)
    assert p["downlink_ms"] == pytest.approx(down.bytes * 8 / 10e6 * 1e3)
    assert p["total_ms"] == pytest.approx(sum(v for k, v in p.items() if k != "total_ms"))
    assert cost.asked[0] == {"block6": 16}  # the plan's kept channels


def test_a_profile_at_another_size_is_refused(three_tier):
    with pytest.raises(InputError, match="--image-size 64"):
        predict(three_tier, FakeCostModel(image_size=64))


def _result(**t):
    timings = dict.fromkeys(("end_ms", "uplink_ms", "edge_ms", "downlink_ms", "cloud_ms"), 1.0)
    timings.update(t)
    timings["overhead_ms"] = timings["total_ms"] - 5.0
    return InferResult(0, np.zeros(10, np.float32), timings)


def test_errors_are_per_request_and_overhead_is_above_pure_transfer(three_tier):
    predicted = dict.fromkeys(("end_ms", "uplink_ms", "edge_ms", "downlink_ms", "cloud_ms"), 1.0)
    predicted.update(overhead_ms=0.0, total_ms=5.0)
    results = [_result(total_ms=t) for t in (5.0, 5.5, 10.0)]
    report = compare(three_tier, predicted, results, np.zeros(3, np.int64))
    # |5 - t| / t: 0 %, 9.09 %, 50 % -> median 9.09 %
    assert report.median_abs_error_pct == pytest.approx(100 * 0.5 / 5.5)
    # total - 2 ms of predicted transfer - 3 ms of measured compute: 0, 0.5, 5 -> 0.5
    assert report.overhead_ms == pytest.approx(2.5 - 2.0)
    total = report.rows[-1]
    assert (total.predicted_ms, total.measured_ms) == (5.0, 5.5)
    assert total.error_pct == pytest.approx(100 * (5.0 - 5.5) / 5.5)
    assert report.accuracy == 1.0


@pytest.mark.slow
def test_validate_runs_the_plan_on_shaped_links(three_tier):
    report = validate(7, requests=6, plan_dir=three_tier.folder, cost_model=FakeCostModel())
    rows = {r.key: r for r in report.rows}
    assert report.requests == 6 and report.shaped
    up, down = three_tier.links
    # shaped transfers last at least most of bytes / rate (the burst is sent at once)
    assert rows["uplink_ms"].measured_ms >= (up.bytes - 256) * 8 / 20e6 * 1e3
    assert rows["downlink_ms"].measured_ms >= (down.bytes - 256) * 8 / 10e6 * 1e3
    assert rows["end_ms"].measured_ms > 0 and rows["cloud_ms"].measured_ms > 0
    assert rows["total_ms"].measured_ms >= sum(
        rows[k].measured_ms for k in ("end_ms", "uplink_ms", "edge_ms", "downlink_ms")
    )
    assert report.median_abs_error_pct >= 0 and report.accuracy is not None
    with pytest.raises(InputError, match="not 8"):
        validate(8, requests=1, plan_dir=three_tier.folder, cost_model=FakeCostModel())


@pytest.mark.parametrize(
    ("numbers", "message"),
    [
        ({"requests": 0}, "--requests"),
        ({"requests": 2**63 - 1}, "--requests"),  # np.resize of the labels: a MemoryError
        ({"warmup": -1}, "--warmup"),
        ({"warmup": 10_001}, "--warmup"),
    ],
)
def test_a_python_caller_gets_the_clis_bounds(tmp_path, numbers, message):
    with pytest.raises(InputError, match=message):
        validate(7, plan_dir=tmp_path, cost_model=FakeCostModel(), **numbers)


def test_request_images_cycle_the_test_split(three_tier):
    images, labels = request_images(three_tier, 400)
    assert images.shape[1:] == (32, 32, 3) and labels.shape == (400,)
    assert labels[360] == labels[0]


def test_calibration_fits_medians_above_the_pure_prediction(three_tier):
    pure = predict(three_tier, FakeCostModel())
    up, down = pure["uplink_ms"], pure["downlink_ms"]
    results = [
        _result(total_ms=t, uplink_ms=up + u, downlink_ms=down + d)
        for t, u, d in ((6.0, 0.1, 0.3), (6.5, 0.2, 0.5), (9.0, 0.9, 0.4))
    ]
    cal = fit_calibration(three_tier, pure, results, "test")
    assert cal.runtime_ms == pytest.approx(1.5)  # overhead_ms: 1.0, 1.5, 4.0
    assert cal.uplink_message_ms == pytest.approx(0.2)
    assert cal.message_ms == pytest.approx(0.4)
    assert cal.requests == 3
    # every tier measured 1.0 ms: the compute scales are 1.0 over the prediction
    assert cal.compute_scale("end") == pytest.approx(1.0 / pure["end_ms"])
    assert cal.compute_scale("cloud") == pytest.approx(1.0 / pure["cloud_ms"])
    calibrated = predict(three_tier, FakeCostModel(), cal)
    assert calibrated["uplink_ms"] == pytest.approx(up + 0.2)
    assert calibrated["downlink_ms"] == pytest.approx(down + 0.4)
    assert calibrated["overhead_ms"] == 1.5
    for key in ("end_ms", "edge_ms", "cloud_ms"):
        assert calibrated[key] == pytest.approx(1.0)  # scaled to what was measured
    assert calibrated["total_ms"] == pytest.approx(up + down + 3.0 + 1.5 + 0.2 + 0.4)
    fixed_only = dataclasses.replace(
        cal, end_compute_scale=1.0, edge_compute_scale=1.0, cloud_compute_scale=1.0
    )
    unscaled = predict(three_tier, FakeCostModel(), fixed_only)
    assert unscaled["total_ms"] == pytest.approx(pure["total_ms"] + 1.5 + 0.2 + 0.4)
    with pytest.raises(InputError, match="end_compute_scale"):
        dataclasses.replace(cal, end_compute_scale=0.0)
    faster = [_result(total_ms=5.0, uplink_ms=0.0, downlink_ms=0.0)]  # never below 0
    assert fit_calibration(three_tier, pure, faster).uplink_message_ms == 0.0


@pytest.mark.slow
def test_calibrate_stores_and_the_next_validation_includes_it(three_tier, tmp_path):
    cost = FakeCostModel()
    cost.folder = tmp_path  # where a host profile keeps its files
    first = validate(7, requests=6, plan_dir=three_tier.folder, cost_model=cost, calibrate=True)
    assert first.calibration is None and first.fitted is not None
    # pooled over CALIBRATION_ROUNDS runs, each on servers of its own, the labels lined up
    assert first.requests == first.fitted.requests == 6 * CALIBRATION_ROUNDS == 18
    assert "18 requests in 3 runs" in first.fitted.source
    assert (
        first.accuracy
        == validate(7, requests=6, plan_dir=three_tier.folder, cost_model=cost).accuracy
    )
    stored = json.loads((tmp_path / "host_calibration.json").read_text())
    assert stored["runtime_ms"] == pytest.approx(first.fitted.runtime_ms)
    second = validate(7, requests=6, plan_dir=three_tier.folder, cost_model=cost)
    assert second.calibration == first.fitted
    rows = {r.key: r for r in second.rows}
    assert rows["overhead_ms"].predicted_ms == pytest.approx(first.fitted.runtime_ms)
    with pytest.raises(InputError, match="needs shaped links"):
        validate(
            7, requests=1, plan_dir=three_tier.folder, cost_model=cost, calibrate=True, shape=False
        )
    with pytest.raises(InputError, match="use it with --calibrate"):
        validate(7, requests=1, plan_dir=three_tier.folder, cost_model=cost, rounds=2)
    for rounds in (0, MAX_ROUNDS + 1):
        with pytest.raises(InputError, match="--rounds must be in"):
            validate(7, plan_dir=three_tier.folder, cost_model=cost, calibrate=True, rounds=rounds)
    one = validate(
        7, requests=4, plan_dir=three_tier.folder, cost_model=cost, calibrate=True, rounds=1
    )
    assert one.requests == 4 and "in 1 runs" not in one.fitted.source


def test_netns_link_costs_keep_their_sign_and_never_reach_a_planner(
    three_tier, tmp_path, monkeypatch
):
    from cnnpc.latency import Calibration, calibration_path, read_calibration
    from cnnpc.latency._calibration import find_calibration

    pure = predict(three_tier, FakeCostModel())
    up = pure["uplink_ms"]
    faster = [_result(total_ms=5.0, uplink_ms=up - 0.1, downlink_ms=0.0) for _ in range(3)]
    clamped = fit_calibration(three_tier, pure, faster)
    assert clamped.uplink_message_ms == 0.0 and not clamped.signed_links
    signed = fit_calibration(three_tier, pure, faster, signed=True)
    assert signed.uplink_message_ms == pytest.approx(-0.1) and signed.signed_links
    assert signed.message_ms == pytest.approx(-pure["downlink_ms"])
    calibrated = predict(three_tier, FakeCostModel(), signed)
    assert calibrated["uplink_ms"] == pytest.approx(up - 0.1)
    assert calibrated["downlink_ms"] == 0.0  # an intercept never makes a transfer negative
    with pytest.raises(InputError, match="uplink_message_ms"):
        Calibration(0.1, -0.1, 0.0)
    path = calibration_path(tmp_path / "mobilenet", "host")
    path.parent.mkdir()
    path.write_text(json.dumps(signed.as_dict()))
    assert read_calibration(path) == signed
    monkeypatch.setattr("cnnpc.latency._calibration.user_profile_roots", lambda: [tmp_path])
    with pytest.raises(InputError, match="not a planner's"):
        find_calibration("mobilenet", "host")
