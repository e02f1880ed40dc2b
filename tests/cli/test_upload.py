from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest

from cnnpc.cli import main

BASE = ["upload-plan", "--model", "mobilenet", "--device", "MI8"]


def test_upload_plan_json_and_png(tmp_path, capsys):
    png = tmp_path / "u.png"
    args = [*BASE, "--upload-rate", "20", "--query-rate", "10", "--json", "--png", str(png)]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_bytes"] == 4 * 3_538_984
    assert out["whole_upload_s"] == pytest.approx(4 * 3_538_984 * 8 / 20e6)
    steps = out["steps"]
    assert steps and steps[-1]["latency_ms"] == pytest.approx(out["full"]["latency_ms"])
    assert all(a["latency_ms"] > b["latency_ms"] for a, b in itertools.pairwise(steps))
    assert out["full_benefit_s"] <= out["whole_upload_s"]
    c = out["comparison"]
    assert c["incremental_mean_ms"] <= c["whole_first_mean_ms"]
    assert c["queries"] == int(out["whole_upload_s"] * 10) + 1
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_upload_plan_int8_halves_nothing_but_bytes(capsys):
    assert main([*BASE, "--param-bytes", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_bytes"] == 3_538_984 and out["upload_mbps"] == 20.0


def test_upload_plan_prices_queries_with_the_link_latency(capsys):
    """A query that uses the edge pays the end->edge latency there and back; the end alone not."""
    assert main([*BASE, "--json"]) == 0
    near = json.loads(capsys.readouterr().out)
    assert main([*BASE, "--uplink-latency", "5", "--json"]) == 0
    far = json.loads(capsys.readouterr().out)
    assert far["initial"]["latency_ms"] == near["initial"]["latency_ms"]  # end only
    assert far["full"]["mode"] == near["full"]["mode"] == "end_edge"
    assert far["full"]["latency_ms"] == pytest.approx(near["full"]["latency_ms"] + 10.0)


def test_upload_plan_table(capsys):
    assert main(["upload-plan", "--model", "resnet", "--device", "MI8SE", "--cloud"]) == 0
    text = capsys.readouterr().out
    assert "full benefit after" in text and "whole-model-first" in text


def test_upload_plan_never_imports_tensorflow():
    code = (
        "import sys; from cnnpc.cli import main; main(['upload-plan', '--model', 'mobilenet', "
        "'--device', 'MI8', '--json']); "
        "assert 'tensorflow' not in sys.modules and 'pandas' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--upload-rate", "0"], "must be a finite number >= 0.001 and <= 1e+06"),
        (["--query-rate", "-1"], "must be in [1e-06, 1e+06], got '-1'"),
        (["--keep", "block3=2"], "keep fraction must be in (0, 1]"),
        (["--keep", "block3=0.5", "--search", "1"], "not both"),
        (["--device", "MI9"], "unknown device"),
        (["--keep", "block3=0.5,block3=0.25"], "block3 is given twice"),
        (["--param-bytes", "3"], "--param-bytes must be 1 (int8), 2 (fp16) or 4 (fp32)"),
    ],
)
def test_bad_input_exit_2(extra, message, capsys):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main([*BASE, *extra]))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
