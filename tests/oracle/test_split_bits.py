"""The oracle fine-tunes through the codec at a split's bit width; 8 bits is today's key."""

from __future__ import annotations

import pytest

from cnnpc._keras import keras
from cnnpc.codec import Codec
from cnnpc.compression import FinetuneBudget, prune_channels, split_layer
from cnnpc.errors import InputError
from cnnpc.oracle import (
    AccuracyOracle,
    MemoryCache,
    ModelStore,
    OracleResult,
    Recipe,
    trained_baseline,
)

BUDGET = FinetuneBudget(epochs=1, steps_per_epoch=2)
CONFIG = {"block3": 0.5, "block10": 0.25}
# the key the source-hash release computed for this configuration (tests/oracle/test_recipes.py)
INT8_KEY = "a697fe89b9858265a88226df"
CODED = {"block1": 4, "block3": 4, "block6": 4}


@pytest.fixture(scope="module")
def oracle(tiny_baseline, digits32, mobilenet_space):
    return AccuracyOracle(tiny_baseline, digits32, mobilenet_space, BUDGET, 0)


@pytest.fixture(scope="module")
def varied(digits32, mobilenet_space, tmp_path_factory):
    """The tiny baseline (3 steps) answers one class whatever the image, fine-tuned or not;
    20 steps are still at chance, but their fine-tunes answer differently per image, so
    rounding the split tensors to 4 bits moves the accuracy (measured: 0.089 int8, 0.100)."""
    root = tmp_path_factory.mktemp("varied")
    recipe = Recipe(epochs=2, steps_per_epoch=10, patience=2)
    baseline = trained_baseline("mobilenet", digits32, 0, root, recipe, progress=False)
    return AccuracyOracle(
        baseline, digits32, mobilenet_space, BUDGET, 0, MemoryCache(), models=ModelStore(root)
    )


def test_8_bits_everywhere_is_todays_key(oracle):
    assert oracle.cache_key(CONFIG) == INT8_KEY
    assert oracle.cache_key(CONFIG, {}) == INT8_KEY
    assert oracle.cache_key(CONFIG, {"block3": 8, "block16": 8}) == INT8_KEY
    coded = oracle.cache_key(CONFIG, {"block3": 4})
    assert coded != INT8_KEY
    assert coded != oracle.cache_key(CONFIG, {"block3": 2})
    assert coded != oracle.cache_key(CONFIG, {"block6": 4})
    assert coded == oracle.cache_key(CONFIG, {"block3": 4, "conv1": 8})


def test_bad_bits_are_refused(oracle):
    for bits, message in (({"block3": 9}, "1..8"), ({"block3": 0}, "1..8"), ({"nope": 4}, "nope")):
        with pytest.raises(InputError, match=message):
            oracle.cache_key(CONFIG, bits)


def test_a_4_bit_fine_tune_is_its_own_result(varied):
    oracle = varied
    int8 = oracle.evaluate(CONFIG)
    coded = oracle.evaluate(CONFIG, CODED)
    assert oracle.finetunes == 2
    assert coded.bits == tuple(sorted(CODED.items())) and int8.bits == ()
    assert (coded.val_accuracy, coded.test_accuracy) != (int8.val_accuracy, int8.test_accuracy)
    assert coded.candidates == int8.candidates  # the sizes are the pruning's; bytes are priced
    records = oracle.cache.records
    int8_key, coded_key = oracle.cache_key(CONFIG), oracle.cache_key(CONFIG, CODED)
    assert set(records) == {int8_key, coded_key}
    assert "bits" not in records[int8_key]  # an int8 record is what it was before codecs
    assert records[coded_key]["bits"] == CODED
    again = oracle.evaluate(CONFIG, {**CODED, "block16": 8})
    assert again.from_cache and again == coded and oracle.finetunes == 2
    assert OracleResult.from_record(records[int8_key]) == int8


def test_the_stored_4_bit_model_is_the_measured_one(varied, digits32):
    from cnnpc.workloads import accuracy

    oracle = varied
    coded = oracle.evaluate(CONFIG, CODED)
    before = oracle.finetunes
    model = oracle.tuned_model(CONFIG, CODED)  # loaded from the store, not fine-tuned again
    assert oracle.finetunes == before
    assert any(layer.name == "quant_cnnpc_split_quantize_block1" for layer in model.layers)
    assert accuracy(model, digits32.val) == coded.val_accuracy


def test_the_search_source_passes_bits_on(varied):
    """A configuration's NAME@bits entries reach the oracle as its bits (one cache entry)."""
    from cnnpc.records import join_config
    from cnnpc.search import OracleSource

    coded = varied.evaluate(CONFIG, CODED)
    before = varied.finetunes
    measured = OracleSource(varied).measure(join_config(CONFIG, CODED))
    assert (measured.val_accuracy, measured.test_accuracy) == (
        coded.val_accuracy,
        coded.test_accuracy,
    )
    assert varied.finetunes == before


def test_codec_measures_are_the_codecs_own_bytes_and_are_cached(
    tiny_baseline, digits32, mobilenet_space, tmp_path
):
    from cnnpc.codec import measure_codec
    from cnnpc.oracle import DiskCache, codec_measures
    from cnnpc.oracle._codec_measure import MEASURE_IMAGES, _int8

    oracle = AccuracyOracle(
        tiny_baseline, digits32, mobilenet_space, BUDGET, 0, DiskCache(tmp_path / "results")
    )
    everything = codec_measures(oracle, (8, 4, 2), "zstd")
    measures = [m for m in everything if m.kept == 1.0]
    names = [c.name for c in mobilenet_space.candidates]
    assert [(m.candidate, m.bits) for m in measures] == [(n, b) for n in names for b in (8, 4, 2)]
    assert all(m.ratio > 0 and m.encode_ms > 0 and m.decode_ms > 0 for m in measures)
    for name in names:  # every width on the whole tensor, each pruned one on fewer elements
        whole = {m.elements for m in measures if m.candidate == name}
        assert len(whole) == 1
        assert all(
            m.elements < min(whole) for m in everything if m.candidate == name and m.kept < 1
        )
    # and on what pruning keeps: the pruned baseline's own split tensor, coded
    pruned = {(m.candidate, m.bits, m.kept): m.ratio for m in everything if m.kept < 1.0}
    assert {(n, k) for n, _, k in pruned} >= {("conv1", 0.25), ("block10", 0.125)}
    model = prune_channels(tiny_baseline.model, mobilenet_space, {"conv1": 0.25}).model
    split = model.get_layer(split_layer(mobilenet_space.candidates[0]))
    probe = keras.Model(model.inputs, split.output)
    tensor = probe.predict(digits32.val.x[:MEASURE_IMAGES], verbose=0)
    ints, scale, zero = _int8(tensor)
    direct = measure_codec("conv1", ints, scale, zero, Codec(2, "zstd")).ratio
    assert pruned[("conv1", 2, 0.25)] == pytest.approx(direct, rel=1e-9)
    assert pruned[("conv1", 2, 0.25)] != pytest.approx(
        next(m.ratio for m in measures if (m.candidate, m.bits) == ("conv1", 2)), rel=1e-3
    )
    # fewer bits leave less for zstd to find: its ratio does not grow as the width shrinks
    by = {(m.candidate, m.bits): m.ratio for m in measures}
    assert any(by[(n, 8)] > by[(n, 2)] for n in names)
    plain = codec_measures(oracle, (8, 4, 2), "none")
    assert all(m.ratio == 1.0 for m in plain)
    # measured once: the second call reads the oracle's cache (the times would differ)
    assert codec_measures(oracle, (8, 4, 2), "zstd") == everything
    with pytest.raises(InputError, match=r"zstd|coder"):
        codec_measures(oracle, (8,), "lz4")


def test_the_codec_measures_graph_is_none_where_channels_cannot_be_pruned(tiny_baseline):
    """A model without a channel graph (a sequential one) is priced on whole tensors only, as
    before the graph was built once for all candidates; a functional one gets its graph."""
    from cnnpc.compression import ChannelGraph
    from cnnpc.oracle._codec_measure import _graph

    sequential = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    assert _graph(sequential) is None
    assert isinstance(_graph(tiny_baseline.model), ChannelGraph)
