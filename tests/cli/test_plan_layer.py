"""`cnnpc plan --granularity layer`: JSON values, the table, refusals, and no TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cnnpc.cli import main

ARGS = ["plan", "--granularity", "layer", "--device", "MI8"]


def test_layer_plan_json_against_the_block_plan(capsys):
    assert main([*ARGS, "--model", "resnet", "--bandwidth", "50", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    best, block, diff = out["best"], out["block_best"], out["difference"]
    assert out["granularity"] == "layer" and out["layers"] == 69
    assert best["latency_ms"] == pytest.approx(86.138, abs=1e-3)
    assert block["latency_ms"] == pytest.approx(89.379, abs=1e-3)
    assert block["splits"] == ["block16"] and block["mode"] == best["mode"] == "edge_cloud"
    assert diff["latency_ms"] == pytest.approx(best["latency_ms"] - block["latency_ms"])
    assert diff["same_cut"] is False
    assert [(c["link"], c["layer"], c["shape"]) for c in best["crossings"]] == [
        ("end->edge", "input", "224x224x3"),
        ("edge->cloud", "stage3_unit1_out", "14x14x256"),
    ]
    assert [c["layer"] for c in block["crossings"]] == ["input", "stage3_unit2_out"]
    assert best["layers_per_tier"] == {"end": 1, "edge": 43, "cloud": 25}
    assert best["latency_ms"] == pytest.approx(best["breakdown"]["total_ms"])
    for plan in out["two_tier"].values():
        assert plan["latency_ms"] >= best["latency_ms"] - 1e-9
    assert best["solve_ms"] > 0


def test_layer_plan_table(capsys):
    assert main([*ARGS, "--model", "mobilenet", "--bandwidth", "10"]) == 0
    text = capsys.readouterr().out
    assert "layer plan: 47.35 ms, end -> edge" in text
    assert "block plan: 50.86 ms, end -> edge, block10" in text
    assert "3.52 ms faster" in text
    assert "end->edge block_6_project_BN (14x14x64)" in text
    assert "end   input .. block_6_project_BN (" in text


def test_same_cut_is_reported(capsys):
    assert main([*ARGS, "--model", "resnet", "--bandwidth", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["difference"]["same_cut"] is True
    assert out["best"]["mode"] == out["block_best"]["mode"] == "edge_only"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--keep", "block3=0.5"], "--keep is not supported with --granularity layer"),
        (["--latency-budget", "60"], "--latency-budget is not supported"),
        (["--granularity", "layers"], "invalid choice: 'layers'"),
    ],
)
def test_refusals_are_one_line_exit_2(extra, message, capsys):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main([*ARGS, "--model", "mobilenet", "--bandwidth", "10", *extra]))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_layer_plan_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from cnnpc.cli import main\n"
        "main(['plan', '--granularity', 'layer', '--model', 'resnet', '--device', 'MI8',"
        " '--bandwidth', '10'])\n"
        "assert 'tensorflow' not in sys.modules, 'plan imported tensorflow'\n"
        "assert 'pandas' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
