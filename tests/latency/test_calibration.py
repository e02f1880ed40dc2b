"""Calibrated fixed costs stored with a profile, and plans on that profile that include them."""

from __future__ import annotations

import json

import pytest

from cnnpc.errors import InputError
from cnnpc.latency import Calibration, calibration_path, find_calibration
from cnnpc.planner import LinkOptions, planner_for


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNPC_PROFILES", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _store(root, runtime=0.2, up=0.3, down=0.5):
    path = calibration_path(root / "mobilenet", "MI8")
    path.parent.mkdir(parents=True, exist_ok=True)
    cal = Calibration(runtime, up, down, requests=50, source="test")
    path.write_text(json.dumps(cal.as_dict()))
    return cal


def test_plans_on_a_calibrated_profile_include_its_fixed_costs(root):
    plain = planner_for("mobilenet", "MI8", bandwidth_mbps=10)
    n = plain.profile.n_segments
    before = {k: plain.plan(*k).latency_ms for k in ((n, n), (5, n), (5, 7), (0, 0))}
    cal = _store(root)
    assert find_calibration("mobilenet", "MI8") == cal
    calibrated = planner_for("mobilenet", "MI8", bandwidth_mbps=10)
    assert calibrated.conventions.overhead_ms == 0.2  # the runtime's cost replaces 1.66 ms
    extra = {(n, n): 0.0, (5, n): 0.3, (5, 7): 0.3 + 0.5, (0, 0): 0.3 + 0.5}
    for (a, b), ms in before.items():
        assert calibrated.plan(a, b).latency_ms == pytest.approx(ms - 1.66 + 0.2 + extra[(a, b)])
    given = planner_for("mobilenet", "MI8", bandwidth_mbps=10, options=LinkOptions(overhead_ms=1))
    assert given.conventions.overhead_ms == 1.0  # an explicit overhead wins
    assert find_calibration("mobilenet", "MI8SE") is None


def test_a_malformed_calibration_is_one_line(root):
    path = calibration_path(root / "mobilenet", "MI8")
    path.parent.mkdir(parents=True)
    path.write_text('{"runtime_ms": -1, "uplink_message_ms": 0, "message_ms": 0}')
    with pytest.raises(InputError, match=r"MI8_calibration\.json: runtime_ms must be") as exc:
        planner_for("mobilenet", "MI8", bandwidth_mbps=10)
    assert "\n" not in str(exc.value)
    path.write_text("not json")
    with pytest.raises(InputError, match="not a calibration file"):
        find_calibration("mobilenet", "MI8")
