"""What each tier holds: the weight rule (hand-computed graphs), the end part's peak memory, and
`--end-memory` in the planner, `cnnpc plan` and `cnnpc search` (no TensorFlow)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from cnnpc.cli import main
from cnnpc.errors import InputError
from cnnpc.planner import MB, LinkOptions, PartWeights, planner_for
from cnnpc.profiles import LayerRow, load_params, load_profile, profile_weights, segment_weights
from cnnpc.records import KeepConfig
from cnnpc.spaces import Candidate, SearchSpace

PLAN = ["plan", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"]


def _row(name, op, segment, flops, shape, inputs=()):
    elements = math.prod(shape)
    return LayerRow(name, op, segment, flops, shape, elements, tuple(inputs))


def _conv(name, segment, k_in, k_out, inputs):
    """A 1x1 Conv2D on an 8x8 grid: FLOPs 2 x 64 positions x in x out, kernel in x out."""
    return _row(name, "Conv2D", segment, 2 * 64 * k_in * k_out, (8, 8, k_out), inputs)


def test_a_chain_by_hand():
    # input 8x8x3 -> c1 3x3 conv to 4 -> b1 (BN) | c2 1x1 to 6 -> pool -> dense to 2 (+ bias)
    rows = (
        _row("input", "InputLayer", 0, 0, (8, 8, 3)),
        _row("c1", "Conv2D", 0, 2 * 64 * 4 * 27, (8, 8, 4), ["input"]),  # kernel 3*3*3*4 = 108
        _row("b1", "BatchNormalization", 0, 0, (8, 8, 4), ["c1"]),  # 4 x 4 = 16
        _conv("c2", 1, 4, 6, ["b1"]),  # kernel 24
        _row("pool", "GlobalAveragePooling2D", 1, 0, (6,), ["c2"]),
        _row("dense", "Dense", 1, 2 * 6 * 2, (2,), ["pool"]),  # kernel 12, bias 2 (params.csv)
    )
    space = SearchSpace("toy", (Candidate("b1", 4, layers=("c1", "b1")),), (0.5, 1.0))
    weights = segment_weights(rows, space, (124, 38), 2)
    assert weights.counts() == (124, 38)
    # half of b1's 4 channels: c1 3*3*3*2 = 54, BN 4*2 = 8; c2 reads 2: 2*6 = 12, dense 12 + 2
    assert weights.counts({"b1": 0.5}) == (62, 26)
    # the one rounding rule: 0.125 of 4 channels keeps 1 (floor(0.5 + 0.5))
    assert weights.counts({"b1": 0.125}) == (27 + 4, 6 + 14)


def test_a_residual_prunes_every_producer_of_the_sum():
    rows = (
        _row("input", "InputLayer", 0, 0, (8, 8, 3)),
        _conv("c1", 0, 3, 4, ["input"]),  # 12
        _conv("c2", 0, 4, 4, ["c1"]),  # 16: reads and writes the summed space
        _row("add", "Add", 0, 0, (8, 8, 4), ["c1", "c2"]),
        _conv("c3", 1, 4, 5, ["add"]),  # 20
    )
    space = SearchSpace("toy", (Candidate("add", 4, layers=("c2", "add")),), (0.5, 1.0))
    weights = segment_weights(rows, space, (28, 20), 2)
    assert weights.counts({"add": 0.5}) == (3 * 2 + 2 * 2, 2 * 5)


def test_a_concatenation_keeps_each_part_by_the_rule():
    rows = (
        _row("input", "InputLayer", 0, 0, (8, 8, 3)),
        _conv("a", 0, 3, 3, ["input"]),  # 9
        _conv("b", 0, 3, 5, ["input"]),  # 15
        _row("cat", "Concatenate", 0, 0, (8, 8, 8), ["a", "b"]),
        _conv("c", 1, 8, 2, ["cat"]),  # 16
    )
    space = SearchSpace("toy", (Candidate("cat", 8, layers=("cat",), parts=(3, 5)),), (0.5, 1.0))
    weights = segment_weights(rows, space, (24, 16), 2)
    # 0.5 keeps 2 of 3 and 3 of 5 (half up): a 3*2, b 3*3; c reads 5 of 8
    assert weights.counts({"cat": 0.5}) == (6 + 9, 5 * 2)
    assert space.candidates[0].kept(0.5) == 5


@pytest.mark.parametrize("model", ["mobilenet", "resnet"])
def test_shipped_models_count_what_params_csv_says(model):
    profile = load_profile(model, "MI8")
    assert profile_weights(profile).counts() == load_params(profile)


def test_part_sizes_of_the_mi8_plan():
    planner = planner_for("mobilenet", "MI8", bandwidth_mbps=10.0)
    best = planner.best()
    sizes = planner.part_sizes(best)
    params = load_params(planner.profile)
    assert (best.a, best.b) == (5, 8)  # end -> edge after block10
    assert sizes.end_bytes == sum(params[:5]) == 248_768
    assert sizes.edge_bytes == sum(params[5:]) and sizes.cloud_bytes == 0
    assert sizes.end_memory_bytes is None  # CNNPC's tables measured no memory


def _brute_force(planner, keep, limit_mb):
    n = planner.profile.n_segments
    need = planner.weights.end_need(keep)
    fitting = [
        planner.plan(a, b, keep)
        for a, b in itertools.combinations_with_replacement(range(n + 1), 2)
        if need[a] <= limit_mb * MB
    ]
    return min(p.latency_ms for p in fitting)


@pytest.mark.parametrize("limit_mb", [0.001, 0.01, 0.05, 0.2, 1.0, 5.0])
def test_end_memory_keeps_the_fastest_layout_that_fits(limit_mb):
    keep = KeepConfig.from_fractions(load_profile("mobilenet", "MI8").space, {"block10": 0.5})
    options = LinkOptions(end_memory_mb=limit_mb)
    planner = planner_for("mobilenet", "MI8", bandwidth_mbps=10.0, options=options)
    best = planner.best(keep)
    assert planner.part_sizes(best, keep).end_bytes <= limit_mb * MB
    assert best.latency_ms == pytest.approx(_brute_force(planner, keep, limit_mb))
    free = planner_for("mobilenet", "MI8", bandwidth_mbps=10.0).best(keep)
    assert best.latency_ms >= free.latency_ms
    # the baselines are reference points: priced whatever their end part holds
    assert planner.baselines(keep)["end_only"].a == planner.profile.n_segments


def test_no_plan_within_budget_and_memory_is_one_error():
    options = LinkOptions(end_memory_mb=0.001)
    planner = planner_for("mobilenet", "MI8", bandwidth_mbps=10.0, options=options)
    with pytest.raises(InputError, match=r"no plan meets 60 ms with an end part that fits in"):
        planner.least_traffic(60.0)
    assert planner_for("mobilenet", "MI8", bandwidth_mbps=10.0).least_traffic(60.0).a > 0


def test_measured_memory_adds_the_largest_working_memory():
    profile = load_profile("mobilenet", "MI8")
    whole = load_params(profile)
    memory = [(whole[k] + 1000 * (k + 1)) / MB for k in range(profile.n_segments)]
    memory[6] = None  # block16 not measured
    segments = tuple(
        dataclasses.replace(s, end_memory_mb=m)
        for s, m in zip(profile.segments, memory, strict=True)
    )
    parts = PartWeights(dataclasses.replace(profile, segments=segments))
    keep = KeepConfig.from_fractions(profile.space, {"block3": 0.5})
    pruned = profile_weights(profile).counts(keep.pruned)
    # end [0, 4): its pruned weights plus the largest working memory (segment 3: 4000 bytes)
    assert parts.sizes(4, 8, keep).end_memory_bytes == sum(pruned[:4]) + 4000
    assert parts.sizes(0, 8, keep).end_memory_bytes is None  # no end part
    assert parts.sizes(7, 8, keep).end_memory_bytes is None  # block16's memory unknown
    need = parts.end_need(keep)
    assert need[0] == 0 and need[4] == sum(pruned[:4]) + 4000
    assert np.all(np.diff(need) >= 0)


def test_plan_text_shows_part_sizes_and_json_only_when_asked(capsys):
    assert main(PLAN) == 0
    text = capsys.readouterr().out
    assert "part sizes (int8 weights as deployed" in text
    assert main([*PLAN, "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert "end_memory_mb" not in plain and "parts" not in plain["best"]
    assert main([*PLAN, "--json", "--end-memory", "0.1"]) == 0
    limited = json.loads(capsys.readouterr().out)
    assert limited["end_memory_mb"] == 0.1
    assert limited["best"]["parts"]["end_bytes"] <= 0.1 * MB
    assert limited["best"]["parts"]["format"] == "int8"
    assert limited["baselines"]["end_only"]["parts"]["end_bytes"] > 0.1 * MB
    assert main([*PLAN, "--end-memory", "0.1"]) == 0
    assert "end fits 0.1 MB" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "argument --end-memory: must be a finite number >= 1e-09"),
        ("-3", "argument --end-memory: must be a finite number >= 1e-09"),
        ("nan", "argument --end-memory: must be a finite number >= 1e-09"),
        ("lots", "argument --end-memory: 'lots' is not a number"),
    ],
)
def test_bad_end_memory_is_one_line_exit_2(value, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*PLAN, "--end-memory", value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_end_memory_with_layer_granularity_is_refused(capsys):
    assert main([*PLAN, "--granularity", "layer", "--end-memory", "1"]) == 2
    err = capsys.readouterr().err
    assert "--end-memory is not supported with --granularity layer" in err
    assert err.count("\n") == 1


def test_no_fitting_plan_under_the_budget_exits_2(capsys):
    assert main([*PLAN, "--latency-budget", "60", "--end-memory", "0.001"]) == 2
    err = capsys.readouterr().err
    assert "no plan meets 60 ms with an end part that fits in 0.001 MB" in err
    assert err.count("\n") == 1


def test_plan_with_end_memory_never_imports_tensorflow():
    code = (
        "import sys; from cnnpc.cli import main; "
        "main(['plan', '--model', 'resnet', '--device', 'MI8', '--bandwidth', '10', "
        "'--end-memory', '0.5', '--keep', 'block11=0.5']); "
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "part sizes" in done.stdout and "end fits 0.5 MB" in done.stdout
