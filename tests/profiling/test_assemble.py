"""A device assembled from one measurement per tier, and a labelled stand-in scaled per tier."""

from __future__ import annotations

import json

import pytest

from cnnpc.cli._main import main
from cnnpc.profiles import load_profile

N = 8  # mobilenet's segments


def _csv(path, end, edge, cloud):
    rows = [f"{k},{end + k},{edge + k},{cloud + k}" for k in range(N)]
    path.write_text("segment,end_ms,edge_ms,cloud_ms\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture
def measured(tmp_path, monkeypatch):
    """Three folders as three machines would write them (one device each)."""
    monkeypatch.setenv("CNNPC_PROFILES", str(tmp_path / "profiles"))
    folders = {}
    for tier, base in (("end", 40.0), ("edge", 10.0), ("cloud", 2.0)):
        src = _csv(tmp_path / f"{tier}.csv", base, base, base)
        out = tmp_path / tier
        argv = ["profile", "import", "--model", "mobilenet", "--device", "m", "--csv", str(src)]
        assert main([*argv, "--out", str(out)]) == 0
        folders[tier] = out
    return folders


def test_three_measurements_make_one_device(measured, capsys):
    argv = ["profile", "import", "--model", "mobilenet", "--device", "phone"]
    tiers = [f"--{t}={measured[t]}" for t in ("end", "edge", "cloud")]
    assert main([*argv, *tiers]) == 0
    profile = load_profile("mobilenet", "phone")
    assert [s.end_ms for s in profile.segments] == [40.0 + k for k in range(N)]
    assert [s.edge_ms for s in profile.segments] == [10.0 + k for k in range(N)]
    assert [s.cloud_ms for s in profile.segments] == [2.0 + k for k in range(N)]
    assert profile.stand_in == ""
    capsys.readouterr()
    assert main([*argv[:-1], "phone2", f"--end={measured['end']}"]) == 2
    assert "missing --edge" in capsys.readouterr().err


def test_stand_in_is_scaled_and_labelled_everywhere(measured, capsys):
    argv = ["profile", "import", "--model", "mobilenet", "--device", "standin"]
    scale = ["--from", str(measured["edge"]), "--tier-scale", "end=4,edge=1,cloud=0.25"]
    assert main([*argv, *scale]) == 0
    profile = load_profile("mobilenet", "standin")
    assert [s.end_ms for s in profile.segments] == [4 * (10.0 + k) for k in range(N)]
    assert [s.cloud_ms for s in profile.segments] == [0.25 * (10.0 + k) for k in range(N)]
    assert "stand-in, not measured" in profile.stand_in and "end x4" in profile.stand_in
    capsys.readouterr()
    assert (
        main(["plan", "--model", "mobilenet", "--device", "standin", "--bandwidth", "10", "--json"])
        == 0
    )
    out = capsys.readouterr()
    assert json.loads(out.out)["stand_in"] == profile.stand_in
    assert out.err.count("note: device standin is a stand-in") == 1


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        ("end=0,edge=1,cloud=1", "must be a number > 0"),
        ("end=1,edge=1", "missing cloud"),
        ("end=1,end=2,edge=1,cloud=1", "given twice"),
        ("phone=1", "use end=F"),
    ],
)
def test_bad_tier_scale(measured, capsys, scale, message):
    argv = ["profile", "import", "--model", "mobilenet", "--device", "x", "--from"]
    with pytest.raises(SystemExit) as exit_:  # argparse rejects it while parsing
        main([*argv, str(measured["edge"]), "--tier-scale", scale])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def _tree(root):
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "scale", ["end=1e308,edge=1,cloud=1", "end=1,edge=1e307,cloud=1", "end=1,edge=1,cloud=1e-320"]
)
def test_a_scale_out_of_range_writes_nothing(measured, tmp_path, capsys, scale):
    """The scaled times are checked before anything is written: no profile full of inf that
    every later 'cnnpc profiles' would trip over."""
    before = _tree(tmp_path)
    argv = ["profile", "import", "--model", "mobilenet", "--device", "x", "--from"]
    assert main([*argv, str(measured["edge"]), "--tier-scale", scale]) == 2
    err = capsys.readouterr().err
    assert "--tier-scale end=" in err and "a segment's time must be from 1e-06 to 1e+07 ms" in err
    assert err.count("\n") == 1
    assert _tree(tmp_path) == before and not (tmp_path / "profiles").exists()
    assert main(["profiles"]) == 0
