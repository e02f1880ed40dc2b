"""KeepConfig: one record of a keep configuration, built against a search space from fractions,
channel counts, a stored key or a table cell; its key and texts are those stored and printed
before it existed, byte for byte."""

from __future__ import annotations

import math

import pytest

from cnnpc.errors import InputError, SearchSpaceError
from cnnpc.records import NO_PRUNING, KeepConfig, keep_key, keep_text, parse_keep_key
from cnnpc.spaces import Candidate, SearchSpace, kept_count, load_space, parse_space


@pytest.fixture(scope="module")
def mobilenet() -> SearchSpace:
    return load_space("mobilenet")


@pytest.fixture(scope="module")
def resnet() -> SearchSpace:
    return load_space("resnet")


def _space(*candidates: Candidate, groups: tuple[tuple[str, ...], ...] = ()) -> SearchSpace:
    return SearchSpace("m", candidates, (0.25, 0.5, 1.0), groups)


def test_key_is_the_stored_format():
    # The format databases and caches hold: sorted, %.6g, 'baseline' when nothing is pruned.
    assert keep_key({}) == "baseline"
    assert keep_key({"block6": 1.0}) == "baseline"
    assert keep_key({"block6": 0.25, "block10": 0.5}) == "block10=0.5,block6=0.25"
    assert keep_key({"block6": 17 / 32}) == "block6=0.53125"
    assert keep_key({"block13": 1 / 3}) == "block13=0.333333"
    assert parse_keep_key("baseline") == {}
    assert parse_keep_key("block10=0.5,block6=0.25") == {"block10": 0.5, "block6": 0.25}


def test_key_round_trips_through_the_config(mobilenet):
    for fractions in ({}, {"block6": 0.5}, {"block6": 0.25, "block10": 0.5, "conv1": 1.0}):
        keep = KeepConfig.from_fractions(mobilenet, fractions)
        assert keep.key == keep_key(fractions)
        back = KeepConfig.from_key(mobilenet, keep.key)
        assert back == keep and back.key == keep.key and hash(back) == hash(keep)
    assert KeepConfig.from_key(mobilenet, "baseline") == NO_PRUNING


def test_counts_follow_kept_count(mobilenet):
    keep = KeepConfig.from_fractions(mobilenet, {"block3": 0.125, "block10": 0.5, "conv1": 1.0})
    assert keep.channels == {"block3": kept_count(0.125, 24), "block10": 32}
    assert keep.channels["block3"] == 3  # half up, not half to even
    assert keep.fractions == {"block3": 0.125, "block10": 0.5, "conv1": 1.0}
    assert keep.pruned == {"block3": 0.125, "block10": 0.5}
    assert keep.all_channels["conv1"] == 32 and keep.all_channels["block3"] == 3
    assert keep.kept_fraction("block3") == 3 / 24 and keep.kept_fraction("conv1") == 1.0
    assert keep.as_dict() == keep.fractions


def test_channels_round_trip_to_fractions(mobilenet):
    per_channel = mobilenet.with_keep_grid("channels")
    for count in range(1, 33):
        keep = KeepConfig.from_channels(per_channel, {"block6": count})
        assert keep.fractions == {"block6": count / 32}
        assert keep.channels == ({"block6": count} if count < 32 else {})
    keep = KeepConfig.on_grid(per_channel, {"block6": 17})
    assert keep == KeepConfig.from_channels(mobilenet, {"block6": 17})


def test_a_concatenation_keeps_its_parts_sum():
    space = _space(Candidate("c", 30, parts=(10, 20)))
    keep = KeepConfig.from_fractions(space, {"c": 0.25})
    assert keep.channels == {"c": kept_count(0.25, 10) + kept_count(0.25, 20)}


def test_ties_are_resolved_and_checked(resnet):
    keep = KeepConfig.from_fractions(resnet, {"block6": 0.5})
    assert keep.channels == {"block1": 32, "block6": 32}
    assert keep.fractions == {"block6": 0.5}  # as given: the texts show what was asked
    with pytest.raises(InputError, match="share a channel group and must keep the same fraction"):
        KeepConfig.from_fractions(resnet, {"block1": 0.5, "block6": 0.25})
    with pytest.raises(InputError, match="share a channel group"):
        KeepConfig.from_channels(resnet, {"block1": 32, "block6": 16})
    assert KeepConfig.from_fractions(resnet, {"block1": 0.5, "block6": 0.5}).key == (
        "block1=0.5,block6=0.5"
    )


@pytest.mark.parametrize("value", [0.0, -0.5, 1.5, math.nan, math.inf])
def test_a_fraction_out_of_range_is_refused(mobilenet, value):
    with pytest.raises(InputError, match=r"keep fraction of block6 must be in \(0, 1\]"):
        KeepConfig.from_fractions(mobilenet, {"block6": value})


def test_unknown_and_unprunable_candidates_are_refused(mobilenet):
    with pytest.raises(SearchSpaceError, match="unknown candidate 'nope'"):
        KeepConfig.from_fractions(mobilenet, {"nope": 0.5})
    space = _space(Candidate("a", 8), Candidate("b", 8, prunable=False))
    with pytest.raises(InputError, match="candidate 'b' of 'm' is not prunable"):
        KeepConfig.from_fractions(space, {"b": 0.5})
    assert KeepConfig.from_fractions(space, {"b": 1.0}).channels == {}  # kept whole: allowed


def test_counts_are_checked(mobilenet):
    with pytest.raises(InputError, match=r"block6 keeps 33 of 32 channels \(must be 1..32\)"):
        KeepConfig.from_channels(mobilenet, {"block6": 33})
    with pytest.raises(InputError, match="channel count must be an integer"):
        KeepConfig.from_channels(mobilenet, {"block6": 2.5})  # type: ignore[dict-item]


def test_table_cells(mobilenet):
    keep = KeepConfig.from_row(mobilenet, "block6=16; block10=8")
    assert keep.channels == {"block6": 16, "block10": 8}
    assert keep.key == "block10=0.125,block6=0.5"
    assert KeepConfig.from_row(mobilenet, "") == NO_PRUNING
    for cell, problem in (
        ("block6", "expected NAME=COUNT"),
        ("nope=3", "unknown candidate 'nope'"),
        ("block6=x", "not a whole number"),
        ("block6=0", "keeps 0 of 32 channels"),
    ):
        with pytest.raises(InputError, match=problem):
            KeepConfig.from_row(mobilenet, cell)


def test_grid_values(mobilenet):
    with pytest.raises(InputError, match="not on the keep grid"):
        KeepConfig.on_grid(mobilenet.with_keep_grid((0.25, 0.5, 1.0)), {"block6": 0.375})
    with pytest.raises(InputError, match=r"channel count in 1\.\.32"):
        KeepConfig.on_grid(mobilenet.with_keep_grid("channels"), {"block6": 0.5})
    keep = KeepConfig.on_grid(mobilenet.with_keep_grid((0.25, 0.5, 1.0)), {"block6": 0.5})
    assert keep.fractions == {"block6": 0.5}


def _old_keep_text(keep: dict[str, float], *, pruned_only: bool = False) -> str:
    items = [(k, v) for k, v in keep.items() if not (pruned_only and v >= 1.0)]
    return " ".join(f"{k}={v:g}" for k, v in items)


def _old_kept_channels_text(channels: dict[str, int], keep: dict[str, float]) -> str:
    items = [
        f"{name} {kept_count(f, channels[name])}/{channels[name]}"
        for name, f in keep.items()
        if name in channels and f < 1.0
    ]
    return ", ".join(items) or "all"


@pytest.mark.parametrize(
    "fractions",
    [{}, {"conv1": 1.0}, {"block10": 0.5, "block6": 0.125}, {"block6": 0.53125, "block16": 1.0}],
)
def test_texts_are_the_ones_printed_before(mobilenet, fractions):
    keep = KeepConfig.from_fractions(mobilenet, fractions)
    widths = {c.name: c.channels for c in mobilenet.candidates}
    assert keep.text() == _old_keep_text(fractions) == keep_text(fractions)
    assert keep.text(pruned_only=True) == _old_keep_text(fractions, pruned_only=True)
    assert keep.channels_text() == _old_kept_channels_text(widths, fractions)
    assert KeepConfig.from_fractions(mobilenet, {"block10": 0.5, "block6": 0.125}).text() == (
        "block10=0.5 block6=0.125"
    )
    assert KeepConfig.from_fractions(mobilenet, {"block6": 0.5}).channels_text() == "block6 16/32"


def test_equality_ignores_order_and_whole_candidates(mobilenet):
    a = KeepConfig.from_fractions(mobilenet, {"block6": 0.5, "block10": 0.25})
    b = KeepConfig.from_fractions(mobilenet, {"block10": 0.25, "block6": 0.5, "conv1": 1.0})
    assert a == b and len({a, b}) == 1
    assert a != KeepConfig.from_fractions(mobilenet, {"block6": 0.5})


def test_a_space_file_with_a_concatenation():
    space = parse_space(
        {
            "model": "m",
            "candidates": [{"name": "c", "channels": 30, "parts": [10, 20]}],
            "keep_grid": [0.5, 1.0],
        },
        "m.yaml",
    )
    assert KeepConfig.from_fractions(space, {"c": 0.5}).channels_text() == "c 15/30"


def test_command_line_values():
    from cnnpc.records import parse_keep_values

    assert parse_keep_values("block6=0.5, block10=0.25") == {"block6": 0.5, "block10": 0.25}
    assert parse_keep_values("block6=17", counts=True) == {"block6": 17.0}
    for text, counts, problem in (
        ("block6", False, "expected NAME=FRACTION, got 'block6'"),
        ("block6", True, "expected NAME=FRACTION or NAME=COUNT"),
        ("block6=x", False, "'x' is not a number (in 'block6=x')"),
        ("block6=x", True, "keep fraction must be in (0, 1]"),
        ("block6=2", False, "keep fraction must be in (0, 1], got 'block6=2'"),
        ("block6=0", True, "keep fraction must be in (0, 1]"),
        ("block6=0.5,block6=0.25", False, "block6 is given twice"),
    ):
        with pytest.raises(InputError) as caught:
            parse_keep_values(text, counts=counts)
        assert problem in str(caught.value)


@pytest.mark.parametrize("value", [None, "half"])
def test_a_fraction_that_is_no_number_is_one_line(mobilenet, value):
    with pytest.raises(InputError, match="keep fraction of block6 must be in"):
        KeepConfig.from_fractions(mobilenet, {"block6": value})
