"""`cnnpc profile import --power/--radio` then `cnnpc plan --objective energy|throughput`."""

from __future__ import annotations

import json

import pytest

from cnnpc.cli import main
from cnnpc.profiles import PROFILES_ENV, load_profile

PLAN = ["plan", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10", "--uplink", "1"]
IMPORT = ["profile", "import", "--model", "mobilenet", "--device", "MI8"]


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path))
    return tmp_path


def _json(capsys, args):
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_power_import_round_trip_and_energy_plan(root, capsys):
    before = _json(capsys, PLAN)
    assert "power" not in before and "energy_mj" not in before["best"]
    report = _json(capsys, [*IMPORT, "--radio", "lte", "wifi=tx:1.5,rx:1.2"])
    assert report["missing"] == ["compute W", "idle W"]
    assert main([*PLAN, "--objective", "energy"]) == 2  # one line naming the missing figures
    err = capsys.readouterr().err
    assert "lacks compute W, idle W (set them" in err and err.count("\n") == 1
    _json(capsys, [*IMPORT, "--power", "end=compute:2.5,idle:0.3"])
    figures = load_profile("mobilenet", "MI8").power
    assert (figures.compute_w, figures.idle_w, figures.default_radio) == (2.5, 0.3, "lte")
    assert dict(figures.radios)["wifi"].tx_w == 1.5
    plain = _json(capsys, PLAN)  # figures: every plan reports energy, the choice is unchanged
    assert plain["best"]["splits"] == before["best"]["splits"]
    assert plain["power"]["radio"] == "lte" and plain["best"]["energy_mj"] > 0
    frugal = _json(capsys, [*PLAN, "--objective", "energy"])
    every = [frugal["fastest"], *frugal["baselines"].values()]
    assert frugal["best"]["energy_mj"] <= min(p["energy_mj"] for p in every) + 1e-9
    assert frugal["objective"] == {
        "objective": "energy",
        "latency_budget_ms": None,
        "min_fps": None,
    }
    bounded = _json(capsys, [*PLAN, "--objective", "energy", "--latency-budget", "80.1"])
    assert bounded["best"]["latency_ms"] <= 80.1
    wifi = _json(capsys, [*PLAN, "--objective", "energy", "--radio", "wifi"])
    assert wifi["power"]["tx_w"] == 1.5
    assert main([*PLAN, "--objective", "energy"]) == 0
    text = capsys.readouterr().out
    assert "objective: the least phone energy" in text and "phone mJ" in text


def test_throughput_and_fps(root, capsys):
    fast = _json(capsys, [*PLAN, "--objective", "throughput"])
    assert fast["best"]["fps"] >= max(p["fps"] for p in fast["baselines"].values()) - 1e-9
    assert set(fast["best"]["stages_ms"]) == {"end", "uplink", "edge", "downlink", "cloud"}
    reach = fast["best"]["fps"]
    held = _json(capsys, [*PLAN, "--fps", f"{reach * 0.9:.3f}"])
    assert held["best"]["fps"] >= reach * 0.9 - 1e-6
    assert held["best"]["latency_ms"] >= held["fastest"]["latency_ms"] - 1e-9
    assert main([*PLAN, "--fps", f"{reach * 2:.3f}"]) == 1
    err = capsys.readouterr().err
    assert f"the best reachable is {reach:.2f} frames/s" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [
        [*IMPORT, "--power", "end=compute:-1,idle:0.3"],
        [*IMPORT, "--power", "end=compute:0,idle:0.3"],
        [*IMPORT, "--power", "end=compute:inf,idle:0.3"],
        [*IMPORT, "--radio", "wimax"],
        [*IMPORT, "--radio", "lte=tx:nan,rx:1"],
        [*PLAN, "--objective", "power"],
        [*PLAN, "--fps", "0"],
        [*PLAN, "--radio", "wimax"],
    ],
)
def test_bad_input_is_one_line_exit_2(root, capsys, args):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_import_needs_a_source_or_figures(root, capsys):
    assert main(IMPORT) == 2
    assert "give one source" in capsys.readouterr().err
    assert main([*IMPORT[:-1], "nosuch", "--radio", "lte"]) == 2
    assert "unknown device 'nosuch'" in capsys.readouterr().err


def test_import_with_a_source_writes_figures_beside(root, reference_dir, capsys):
    src = reference_dir / "mobilenet_T_R_MI8SE.csv"
    args = ["profile", "import", "--model", "mobilenet", "--device", "phone", "--csv", str(src)]
    report = _json(capsys, [*args, "--power", "end=compute:3,idle:0.5", "--radio", "wifi"])
    assert report["power"]["compute_w"] == 3.0
    assert (root / "mobilenet" / "phone.power.yaml").is_file()
    assert load_profile("mobilenet", "phone").power.default_radio == "wifi"


def test_layer_granularity_refuses_other_objectives(root, capsys):
    assert main([*PLAN, "--granularity", "layer", "--objective", "throughput"]) == 2
    assert "not supported with --granularity layer" in capsys.readouterr().err
