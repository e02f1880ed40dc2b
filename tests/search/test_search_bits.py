"""`search --bits`: a configuration's split tensors get a bit width, searched jointly with the
keep fractions and priced at that width; exhaustive returns the brute-force optimum over
(keep, bits); tpe proposes widths; an int8 search keeps its parameters and keys."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from synthetic_source import PENALTY, SyntheticSource

from cnnpc.cli import main
from cnnpc.errors import InputError
from cnnpc.planner import planner_for
from cnnpc.records import KeepConfig, keep_key, split_config
from cnnpc.search import (
    SearchSettings,
    distributions,
    normalise,
    run_search,
    split_aware_grid,
    to_params,
)
from cnnpc.spaces import load_space

SPACE = load_space("mobilenet")
BITS = (8, 4, 2)
FLOOR = 0.9
GRID = (0.25, 0.5, 1.0)  # a coarse keep grid: the exhaustive walk stays short
BASE = {"model": "mobilenet", "device": "MI8", "bandwidth_mbps": 10.0, "acc_floor": FLOOR}
BIT_PENALTY = {8: 0.0, 4: 0.004, 2: 0.04}


class BitsSource(SyntheticSource):
    """The synthetic source, less an accuracy penalty per split tensor sent below 8 bits."""

    def accuracy(self, config: Mapping[str, float]) -> float:
        fractions, bits = split_config(config)
        lost = sum(PENALTY[k] * (1 - v) ** 2 for k, v in fractions.items())
        return self.baseline - lost - sum(BIT_PENALTY[b] for b in bits.values())


def test_a_config_is_priced_at_its_own_widths():
    planner = planner_for("mobilenet", "MI8", bandwidth_mbps=10.0)
    int8 = planner.best(KeepConfig.from_fractions(SPACE, {"block1": 0.125, "block13": 0.125}))
    a, b = int8.a, int8.b
    coded = KeepConfig.from_fractions(
        SPACE, {"block1": 0.125, "block13": 0.125, "block1@bits": 4, "block13@bits": 2}
    )
    plan = planner.plan(a, b, coded)
    assert plan.breakdown.uplink_bytes == pytest.approx(int8.breakdown.uplink_bytes * 4 / 8)
    assert plan.breakdown.downlink_bytes == pytest.approx(int8.breakdown.downlink_bytes * 2 / 8)
    assert [(c.tensor, c.codec.bits) for c in plan.codecs or ()] == [
        ("block1", 4),
        ("block13", 2),
    ]
    assert coded.key == "block1=0.125,block13=0.125,block13@bits=2,block1@bits=4"
    assert KeepConfig.from_key(SPACE, coded.key) == coded
    assert coded != KeepConfig.from_fractions(SPACE, {"block1": 0.125, "block13": 0.125})


def test_int8_searches_keep_their_parameters_and_keys():
    assert set(distributions(SPACE)) == set(distributions(SPACE, (8,)))
    assert not any("@bits" in p for p in distributions(SPACE))
    assert "block1@bits" in distributions(SPACE, BITS)
    config = {"block1": 0.25, "block1@bits": 8.0}
    assert keep_key(config) == "block1=0.25"
    assert to_params(SPACE, {"block1": 0.25}) == to_params(SPACE, config)
    grid8 = list(split_aware_grid(SPACE))
    coded = list(split_aware_grid(SPACE, BITS))
    assert coded[: len(grid8)] == grid8  # int8 first, in the same order
    extra = coded[len(grid8) :]
    assert extra and all(split_config(c)[1] for c in extra)
    assert len({keep_key(c) for c in coded}) == len(coded)


def _brute_force(source: BitsSource, floor: float) -> float:
    """The best latency over every (keep, bits) configuration whose reduction meets `floor`."""
    planner = SearchSettings(**BASE, bits=BITS, keep_grid=GRID).planner()
    best = float("inf")
    for config in split_aware_grid(planner.profile.space, BITS):
        reduced, plan = normalise(planner, config)
        if source.accuracy(reduced) >= floor:
            best = min(best, plan.latency_ms)
    return best


def test_exhaustive_with_bits_returns_the_brute_force_optimum(storage):
    source = BitsSource()
    # a low floor: the optimum is fast, so the walk to it (every faster configuration) is short
    exhaustive = {"strategy": "exhaustive", "trials": 2000, "keep_grid": GRID, "acc_floor": 0.8}
    cell = {k: v for k, v in BASE.items() if k != "acc_floor"}
    result = run_search(SearchSettings(**cell, **exhaustive, bits=BITS), source, storage)
    assert result.best is not None
    assert result.best.latency_ms == pytest.approx(_brute_force(source, 0.8))
    assert result.exactness is not None and result.exactness.proven
    int8 = run_search(SearchSettings(**cell, **exhaustive), SyntheticSource(), storage)
    assert int8.best is not None
    assert result.best.latency_ms < int8.best.latency_ms  # the widths buy something here
    assert result.best.bits and set(result.best.bits) <= set(result.best.splits)
    trial = storage.get_trial(result.search_id, result.best.trial)
    assert trial is not None and trial.plan is not None
    assert trial.bits == result.best.bits
    assert [c["bits"] for c in trial.plan["codecs"]] == [
        result.best.bits.get(c["tensor"], 8) for c in trial.plan["codecs"]
    ]


def test_tpe_proposes_widths_and_measures_them(storage):
    source = BitsSource()
    settings = SearchSettings(**BASE, strategy="tpe", trials=15, bits=BITS)
    run_search(settings, source, storage)
    asked = [split_config(c)[1] for c in source.calls]
    assert any(asked), "no configuration was measured below 8 bits"
    assert all(set(b.values()) <= {4, 2} for b in asked)


def test_cnnpc_runs_its_compression_rate_search_per_width(storage):
    """CNNPC's own search with --bits: int8 first, then each width; its answer is at least as
    fast as its int8 answer, every measured width is one of --bits, and it is the best it
    measured (a width below 8 on one of its splits here)."""
    source = BitsSource()
    settings = SearchSettings(**BASE, strategy="cnnpc", trials=200, bits=BITS)
    result = run_search(settings, source, storage)
    int8 = run_search(SearchSettings(**BASE, strategy="cnnpc", trials=200), BitsSource(), storage)
    assert result.best is not None and int8.best is not None
    assert result.best.latency_ms <= int8.best.latency_ms
    asked = [split_config(c)[1] for c in source.calls]
    assert any(asked) and all(set(b.values()) <= {4, 2} for b in asked)
    assert result.best.bits and set(result.best.bits) <= set(result.best.splits)
    assert result.best.val_accuracy >= FLOOR


def test_settings_refuse_bad_bits():
    with pytest.raises(InputError, match="must include 8"):
        SearchSettings(**BASE, bits=(4, 2))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bits", "8,4,4"], "repeated"),
        (["--bits", "9"], "1..8"),
        (["--bits", "8,4", "--entropy", "zstd", "--accuracy", "table:t.csv"], "drop --entropy"),
    ],
)
def test_cli_refuses_in_one_line(args, message, tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'x.db'}"
    cmd = ["search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"]
    try:
        code = main([*cmd, "--acc-floor", "0.9", "--storage", db, *args])
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.db").exists()


def test_codec_time_is_scaled_to_the_tensor_priced():
    """A time measured on a smaller tensor (the workload's) is scaled to the profile's elements,
    and to the channels a configuration keeps."""
    from cnnpc.codec import CodecChoice, CodecMeasure

    measured = CodecMeasure("block1", 4, encode_ms=0.3, decode_ms=0.1, elements=1000)
    plain = planner_for("mobilenet", "MI8", bandwidth_mbps=10.0, codecs=CodecChoice((8,)))
    timed = planner_for(
        "mobilenet", "MI8", bandwidth_mbps=10.0, codecs=CodecChoice((8,), measures=(measured,))
    )
    k = SPACE.index("block1") + 1
    elements = plain.tables().bytes[k]  # int8: one byte per element
    for fraction in (1.0, 0.25):
        keep = KeepConfig.from_fractions(SPACE, {"block1": fraction, "block1@bits": 4})
        extra = timed.tables(keep).up_ms[k] - plain.tables(keep).up_ms[k]
        assert extra == pytest.approx(0.4 * elements * fraction / 1000, rel=1e-3)
