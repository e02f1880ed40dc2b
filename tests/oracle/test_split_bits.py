"""The oracle fine-tunes through the codec at a split's bit width; 8 bits is today's key."""

from __future__ import annotations

import pytest

from cnnpc.compression import FinetuneBudget
from cnnpc.errors import InputError
from cnnpc.oracle import AccuracyOracle, MemoryCache, ModelStore, OracleResult

BUDGET = FinetuneBudget(epochs=1, steps_per_epoch=2)
CONFIG = {"block3": 0.5, "block10": 0.25}
# the key the source-hash release computed for this configuration (tests/oracle/test_recipes.py)
INT8_KEY = "a697fe89b9858265a88226df"
CODED = {"block1": 4, "block3": 4, "block6": 4}


@pytest.fixture(scope="module")
def oracle(tiny_baseline, digits32, mobilenet_space, tmp_path_factory):
    models = ModelStore(tmp_path_factory.mktemp("models"))
    return AccuracyOracle(
        tiny_baseline, digits32, mobilenet_space, BUDGET, 0, MemoryCache(), models=models
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


def test_a_4_bit_fine_tune_is_its_own_result(oracle):
    int8 = oracle.evaluate(CONFIG)
    coded = oracle.evaluate(CONFIG, CODED)
    assert oracle.finetunes == 2
    assert coded.bits == tuple(sorted(CODED.items())) and int8.bits == ()
    assert (coded.val_accuracy, coded.test_accuracy) != (int8.val_accuracy, int8.test_accuracy)
    assert coded.candidates == int8.candidates  # the sizes are the pruning's; bytes are priced
    records = oracle.cache.records  # type: ignore[attr-defined]
    assert set(records) == {INT8_KEY, oracle.cache_key(CONFIG, CODED)}
    assert "bits" not in records[INT8_KEY]  # an int8 record is what it was before codecs
    assert records[oracle.cache_key(CONFIG, CODED)]["bits"] == CODED
    again = oracle.evaluate(CONFIG, {**CODED, "block16": 8})
    assert again.from_cache and again == coded and oracle.finetunes == 2
    assert OracleResult.from_record(records[INT8_KEY]) == int8


def test_the_stored_4_bit_model_is_the_measured_one(oracle, digits32):
    from cnnpc.workloads import accuracy

    coded = oracle.evaluate(CONFIG, CODED)
    before = oracle.finetunes
    model = oracle.tuned_model(CONFIG, CODED)  # loaded from the store, not fine-tuned again
    assert oracle.finetunes == before
    assert any(layer.name == "quant_cnnpc_split_quantize_block1" for layer in model.layers)
    assert accuracy(model, digits32.val) == coded.val_accuracy
