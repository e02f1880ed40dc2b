"""`cnnpc profile` on a tiny input: files written, plan reads them, the host cost model prices."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import yaml

from cnnpc.cli import main
from cnnpc.errors import InputError, ProfileError
from cnnpc.profiles import PROFILES_ENV, load_profile
from cnnpc.profiling import host_cost_model, profile_host, read_measurements
from cnnpc.spaces import load_space

SIZE = 16


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> Path:
    """One real measurement: resnet (5 segments) at 16x16, keeps 1 and 0.5, 2 samples each."""
    root = tmp_path_factory.mktemp("profiles")
    profile_host("resnet", image_size=SIZE, repeats=2, warmup=1, keeps=(1.0, 0.5), out=root)
    return root


def test_files_and_formats(measured):
    folder = measured / "resnet"
    assert sorted(p.name for p in folder.iterdir()) == [
        "host.csv",
        "host_measurements.csv",
        "layers.csv",  # the layer graph at the measured size (--granularity layer)
        "meta.yaml",
        "tensors.csv",
    ]
    meta = yaml.safe_load((folder / "meta.yaml").read_text())
    assert meta["source"] == "measured on this host by cnnpc profile"
    assert meta["image_size"] == SIZE and meta["threads"] == 1 and meta["repeats"] == 2
    assert meta["formats"] == {"end": "int8", "edge": "int8", "cloud": "int8"}
    assert meta["tf_version"] and meta["cpu"] and meta["date"]
    with (folder / "tensors.csv").open() as f:
        tensors = list(csv.DictReader(f))
    assert [(t["name"], t["height"], t["channels"]) for t in tensors] == [
        ("input", "16", "3"),
        ("block1", "4", "64"),
        ("block6", "4", "64"),
        ("block11", "2", "128"),
        ("block16", "1", "256"),
    ]
    rows = read_measurements(folder / "host_measurements.csv")
    assert len(rows) == 2 * 5 * 3
    for r in rows:
        assert r.p10_ms <= r.median_ms <= r.p90_ms and r.flops > 0
    seg1 = next(r for r in rows if r.segment == 1 and r.keep == 1.0)
    assert (seg1.in_bytes, seg1.out_bytes) == (4 * 4 * 64, 4 * 4 * 64)
    half = next(r for r in rows if r.segment == 1 and r.keep == 0.5)
    assert (half.in_channels, half.out_channels, half.keep_in, half.keep_out) == (32, 32, 0.5, 0.5)
    assert half.flops < seg1.flops
    last = next(r for r in rows if r.segment == 4 and r.keep == 0.5)
    assert (last.keep_in, last.keep_out, last.out_channels) == (0.5, 1.0, 10)


def test_plan_reads_the_host_profile(measured, monkeypatch, capsys):
    monkeypatch.setenv(PROFILES_ENV, str(measured))
    profile = load_profile("resnet", "host")
    assert profile.input.elements == SIZE * SIZE * 3
    assert profile.source_mbit_bits == 1e6
    assert (
        main(["plan", "--model", "resnet", "--device", "host", "--bandwidth", "10", "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["device"] == "host" and report["best"]["latency_ms"] > 0


def test_host_cost_model(measured, monkeypatch):
    monkeypatch.setenv(PROFILES_ENV, str(measured))
    model = host_cost_model("resnet")
    assert model.image_size == SIZE
    profile = load_profile("resnet", "host")
    unpruned = model.segment_ms("end", {})
    assert unpruned == pytest.approx([s.end_ms for s in profile.segments], rel=1e-4)
    # An unmeasured width is priced by the regressor from the pruned segment's features.
    pruned = model.segment_ms("edge", {"block11": 64})
    assert len(pruned) == 5 and all(math.isfinite(t) and t > 0 for t in pruned)
    assert pruned[0] == unpruned[0] and pruned[1] == unpruned[1]  # untouched: measured
    assert pruned[2:4] != unpruned[2:4]
    # Widths that were timed (every candidate at half) come from the measurements.
    rows = read_measurements(measured / "resnet" / "host_measurements.csv")
    half = {"block1": 32, "block6": 32, "block11": 64, "block16": 128}
    timed = [r.median_ms for r in rows if r.tier == "cloud" and r.keep == 0.5]
    assert model.segment_ms("cloud", half) == pytest.approx(timed, rel=1e-4)
    feats = model.features("int8", model.widths({"block11": 64}))
    assert feats[2]["out_bytes"] == 2 * 2 * 64
    assert model.segment_ms("edge", {"block11": 64}) == pruned  # cached, same answer
    with pytest.raises(InputError, match=r"must be in 1\.\.128"):
        model.segment_ms("end", {"block11": 0})
    with pytest.raises(InputError, match="unknown tier"):
        model.segment_ms("fog", {})
    assert host_cost_model("resnet", profile_dir=measured / "resnet").image_size == SIZE


def test_no_host_profile_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProfileError) as err:
        host_cost_model("mobilenet")
    assert str(err.value) == (
        "no host profile for mobilenet: run 'cnnpc profile --model mobilenet --device host'"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "host"], "--model is required"),
        (["--model", "vgg"], "unknown model 'vgg'"),
        (["--model", "mobilenet", "--device", "MI8"], "shipped with cnnpc"),
        (["--model", "mobilenet", "--keep-fractions", "0.5,0.25"], "must include 1.0"),
        (["--model", "mobilenet", "--image-size", "4"], "at least 8 pixels"),
    ],
)
def test_bad_input_exit_2_before_measuring(args, message, tmp_path, capsys):
    assert main(["profile", *args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not any(tmp_path.iterdir())


def test_bad_fraction_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["profile", "--model", "mobilenet", "--keep-fractions", "1,2"])
    assert exc.value.code == 2
    assert "keep fractions must be in (0, 1]" in capsys.readouterr().err


def test_space_and_profile_agree(measured, monkeypatch):
    monkeypatch.setenv(PROFILES_ENV, str(measured))
    space = load_space("resnet")
    profile = load_profile("resnet", "host")
    assert [t.channels for t in profile.candidates] == [c.channels for c in space.candidates]


def test_import_refuses_to_mix_tensor_sizes(measured, tmp_path, reference_dir, capsys):
    import shutil

    shutil.copytree(measured / "resnet", tmp_path / "resnet")
    src = str(reference_dir / "resnet_T_R_MI8.csv")
    args = ["profile", "import", "--model", "resnet", "--device", "phone", "--csv", src]
    assert main([*args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "holds host.csv, host_measurements.csv measured with other tensor sizes" in err
    assert not (tmp_path / "resnet" / "phone.csv").exists()
