from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cnnpc.cli import main


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cnnpc", *args], capture_output=True, text=True, timeout=60
    )


def test_plan_json_shape_and_values(capsys):
    assert (
        main(["plan", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10", "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    best = out["best"]
    assert set(best) >= {"latency_ms", "mode", "splits", "breakdown"}
    assert best["mode"] == "end_edge" and best["splits"] == ["block10"]
    assert best["latency_ms"] == pytest.approx(best["breakdown"]["total_ms"])
    assert set(out["baselines"]) == {
        "end_only",
        "edge_only",
        "cloud_only",
        "best_single_split",
        "best_two_split",
    }
    for plan in out["baselines"].values():
        assert plan["latency_ms"] >= best["latency_ms"] - 1e-9
    assert out["baselines"]["end_only"]["latency_ms"] == pytest.approx(80.0886)
    assert best["speedup_vs_best_single_tier"] == pytest.approx(80.0886 / best["latency_ms"])


def test_plan_cnnpc_conventions_reproduce_paper_bound(capsys):
    args = ["plan", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10", "--json"]
    assert main([*args, "--conventions", "cnnpc"]) == 0
    assert json.loads(capsys.readouterr().out)["best"]["latency_ms"] == pytest.approx(
        50.63, abs=0.01
    )


def test_plan_with_keep_and_budget(capsys):
    args = ["plan", "--model", "resnet", "--device", "MI8SE", "--bandwidth", "5", "--uplink", "40"]
    assert main([*args, "--keep", "block6=0.25", "--latency-budget", "200", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["best"]["keep"] == {"block1": 0.25, "block6": 0.25}
    assert out["least_traffic"]["latency_ms"] <= 200
    assert out["least_traffic"]["traffic_bytes"] <= out["best"]["traffic_bytes"]


def test_plan_table_output(capsys):
    assert main(["plan", "--model", "mobilenet", "--device", "MI8SE", "--bandwidth", "1"]) == 0
    text = capsys.readouterr().out
    assert "best plan:" in text
    for label in ("end_only", "edge_only", "cloud_only", "best_single_split", "best_two_split"):
        assert label in text


def test_profiles_lists_models(capsys):
    assert main(["profiles", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "mobilenet": ["MI8", "MI8SE"],
        "resnet": ["MI8", "MI8SE"],
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--model", "vgg", "--device", "MI8", "--bandwidth", "10"],
            "unknown model 'vgg' (valid: mobilenet, resnet)",
        ),
        (["--model", "mobilenet", "--device", "S20", "--bandwidth", "10"], "valid: MI8, MI8SE"),
        (
            ["--model", "mobilenet", "--device", "MI8", "--bandwidth", "0"],
            "--bandwidth: must be a finite number >= 0.001 and <= 1e+06",
        ),
        (
            ["--model", "mobilenet", "--device", "MI8", "--bandwidth", "-3"],
            "must be a finite number >= 0.001 and <= 1e+06",
        ),
        (
            ["--model", "mobilenet", "--device", "MI8", "--bandwidth", "nan"],
            "must be a finite number >= 0.001 and <= 1e+06",
        ),
        (
            ["--model", "mobilenet", "--device", "MI8", "--bandwidth", "inf"],
            "must be a finite number >= 0.001 and <= 1e+06",
        ),
        (
            ["--model", "mobilenet", "--device", "MI8", "--bandwidth", "1e-320"],
            "must be a finite number >= 0.001 and <= 1e+06, got 1e-320",
        ),
        (
            ["--model", "mobilenet", "--device", "MI8", "--bandwidth", "10", "--latency", "1e308"],
            "--latency: must be <= 3.6e+06, got 1e+308",
        ),
        (
            ["--model", "mobilenet", "--device", "MI8", "--bandwidth", "fast"],
            "'fast' is not a number",
        ),
        (
            ["--model", "mobilenet", "--device", "MI8", "--bandwidth", "10", "--uplink", "0"],
            "--uplink",
        ),
        (
            ["--model", "mobilenet", "--device", "MI8", "--bandwidth", "10", "--keep", "block3=2"],
            "(0, 1]",
        ),
        (
            ["--model", "mobilenet", "--device", "MI8", "--bandwidth", "10", "--keep", "zz=0.5"],
            "unknown candidate 'zz'",
        ),
        (["--model", "mobilenet", "--device", "MI8"], "required: --bandwidth"),
        (
            ["--model", "mobilenet", "--device", "MI8", "--bandwidth", "10", "--latency", "-1"],
            "--latency: must be a finite number >= 0",
        ),
        (
            ["--model", "mobilenet", "--device", "MI8", "--bandwidth", "1", "--latency", "nan"],
            "--latency: must be a finite number >= 0",
        ),
        (
            [
                *("--model", "mobilenet", "--device", "MI8", "--bandwidth", "1"),
                *("--uplink-latency", "inf"),
            ],
            "--uplink-latency: must be a finite number >= 0",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        code = main(["plan", *args])
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_far_cloud_moves_the_best_plan_to_the_edge(capsys):
    """README example: at 50 Mbps mobilenet sends block10 to the cloud; with a 30 ms one-way
    cloud (and 0.5 ms to the edge) the edge takes it, paying 1 ms for its own round trip."""
    base = ["plan", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "50", "--json"]
    assert main(base) == 0
    near = json.loads(capsys.readouterr().out)
    assert main([*base, "--latency", "30", "--uplink-latency", "0.5"]) == 0
    far = json.loads(capsys.readouterr().out)
    assert near["best"]["mode"] == "end_cloud" and near["best"]["latency_ms"] == pytest.approx(
        46.47, abs=0.01
    )
    assert far["best"]["mode"] == "end_edge" and far["best"]["splits"] == ["block10"]
    assert far["links"]["latency_ms"] == 30.0 and far["links"]["uplink_latency_ms"] == 0.5
    assert far["baselines"]["end_only"]["latency_ms"] == pytest.approx(80.0886)  # no link used
    cloud = far["baselines"]["cloud_only"]["breakdown"]
    plain = near["baselines"]["cloud_only"]["breakdown"]
    assert cloud["downlink_ms"] - plain["downlink_ms"] == pytest.approx(60.0)  # relay: both links
    assert cloud["uplink_ms"] - plain["uplink_ms"] == pytest.approx(1.0)
    assert main([*base[:-1], "--latency", "30"]) == 0
    assert "edge->cloud 50 Mbps + 30 ms one-way" in capsys.readouterr().out


def test_infeasible_budget_exits_1(capsys):
    args = ["plan", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"]
    assert main([*args, "--latency-budget", "1"]) == 1
    assert "no plan meets 1 ms" in capsys.readouterr().err


def test_help_and_plan_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "from cnnpc.cli import main\n"
        "main(['plan', '--model', 'mobilenet', '--device', 'MI8', '--bandwidth', '10'])\n"
        "assert 'tensorflow' not in sys.modules, 'plan imported tensorflow'\n"
        "assert 'pandas' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    help_proc = _cli("--help")
    assert help_proc.returncode == 0 and "plan" in help_proc.stdout


def test_module_entry_point_exit_code():
    proc = _cli("plan", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "-1")
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("cnnpc plan: error: argument --bandwidth")
