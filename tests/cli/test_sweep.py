from __future__ import annotations

import json

import pytest

from cnnpc.cli import main

BASE = ["sweep", "--model", "mobilenet", "--device", "MI8", "--acc-floor", "0.9"]


def test_sweep_json_png_xlsx(tmp_path, synthetic, capsys):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    png, xlsx = tmp_path / "s.png", tmp_path / "s.xlsx"
    args = [*BASE, "--bandwidth", "1:30:1", "--max-finetunes", "6", "--storage", url]
    assert main([*args, "--json", "--png", str(png), "--xlsx", str(xlsx)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["finetunes"] == len(synthetic.calls) <= 6
    assert len(out["points"]) == 30 and out["bandwidths_mbps"][0] == 1.0
    for point in out["points"]:
        assert point["best"]["val_accuracy"] >= 0.9
    for t in out["thresholds"]:
        if t["crossover_inside"]:
            assert t["low_mbps"] <= t["crossover_mbps"] <= t["high_mbps"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from openpyxl import load_workbook

    book = load_workbook(xlsx)
    assert book.sheetnames == ["Sweep", "Thresholds", "Regret"]
    assert book["Sweep"].max_row == 31 and book["Sweep"]._charts
    # the same sweep again: everything it needs is in the cache, nothing new is fine-tuned
    calls = len(synthetic.calls)
    assert main([*args[:-4], "--max-finetunes", "0", "--storage", url, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["finetunes"] == 0 and len(synthetic.calls) == calls
    assert [p["best"] for p in again["points"]] == [p["best"] for p in out["points"]]


def test_sweep_table_two_devices(tmp_path, synthetic, capsys):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    args = [*BASE, "--device", "MI8,MI8SE", "--bandwidth", "2,10,40", "--storage", url]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "MI8SE" in text and "regret" in text and "fine-tunes spent" in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--bandwidth", "5:1:1"], "STOP must be >= START"),
        (["--bandwidth", "1:x:1"], "is not a number"),
        (["--bandwidth", "1:5", "--json"], "START:STOP:STEP"),
        (["--bandwidth", "1:5:1", "--max-finetunes", "-1"], "must be >= 0"),
        (["--bandwidth", "1:5:1", "--max-finetunes", "10000000"], "must be <= 1000000"),
        (["--bandwidth", "1:5:1", "--device", "MI9"], "unknown device"),
        (["--bandwidth", "1:5:1", "--acc-floor", "1.5"], "--acc-floor: must be in (0, 1]"),
        (["--bandwidth", "1:5:1", "--png", "/nonexistent/dir/x.png"], "does not exist"),
    ],
)
def test_bad_input_exit_2(extra, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main([*BASE, *extra, "--storage", f"sqlite:///{tmp_path / 'x.db'}"]))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
