"""Fine-tuned models are kept by cache key: the model `deploy` ships is the one measured."""

from __future__ import annotations

import pytest

from cnnpc.compression import FinetuneBudget
from cnnpc.oracle import AccuracyOracle, MemoryCache, ModelStore
from cnnpc.workloads import accuracy

BUDGET = FinetuneBudget(epochs=1, steps_per_epoch=2)
CONFIG = {"block3": 0.5, "block10": 0.25}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return ModelStore(tmp_path_factory.mktemp("tuned") / "models")


@pytest.fixture(scope="module")
def oracle(tiny_baseline, digits32, mobilenet_space, store):
    return AccuracyOracle(
        tiny_baseline, digits32, mobilenet_space, BUDGET, 0, MemoryCache(), models=store
    )


@pytest.fixture(scope="module")
def measured(oracle):
    return oracle.evaluate(CONFIG)


@pytest.mark.slow
def test_a_fine_tune_saves_the_model_and_tuned_model_loads_it(oracle, store, measured, digits32):
    assert store.path(oracle.cache_key(CONFIG)).is_file()
    runs = oracle.finetunes
    model = oracle.tuned_model({"block3": 0.52, "block10": 0.25})  # same channels, same key
    assert oracle.finetunes == runs  # loaded, not fine-tuned again
    assert model.get_layer("quant_block_2_add").output_shape[-1] == 12
    assert accuracy(model, digits32.val) == measured.val_accuracy


@pytest.mark.slow
def test_a_model_the_store_lacks_is_wrapped_for_training_once(
    tiny_baseline, digits32, mobilenet_space, tmp_path, monkeypatch
):
    """No stored weights: the fine-tune's own TF-MOT wrapping is the only one built (an
    architecture to load into would be thrown away: seconds per deploy of a new plan)."""
    import cnnpc.oracle._oracle as oracle_module
    import cnnpc.oracle._tuned as tuned_module
    from cnnpc.compression import FinetuneResult, quantization_aware

    wraps = []

    def wrap(*args):
        wraps.append(1)
        return quantization_aware(*args)

    def finetune(pruned, *args, **kwargs):  # the wrapping a fine-tune does, without training
        return FinetuneResult(wrap(pruned, False), 0.0, 0)

    monkeypatch.setattr(tuned_module, "quantization_aware", wrap)
    monkeypatch.setattr(oracle_module, "finetune", finetune)
    store = ModelStore(tmp_path / "models")
    fresh = AccuracyOracle(
        tiny_baseline, digits32, mobilenet_space, BUDGET, 0, MemoryCache(), models=store
    )
    fresh.tuned_model({"block3": 0.75})
    assert (fresh.finetunes, len(wraps)) == (1, 1)
    assert store.has(fresh.cache_key({"block3": 0.75}))
    fresh.tuned_model({"block3": 0.75})  # stored now: wrapped once more, to load into
    assert (fresh.finetunes, len(wraps)) == (1, 2)


@pytest.mark.slow
def test_a_missing_model_is_fine_tuned_again_to_the_same_weights(
    oracle, measured, tiny_baseline, digits32, mobilenet_space, tmp_path
):
    fresh = AccuracyOracle(
        tiny_baseline, digits32, mobilenet_space, BUDGET, 0, MemoryCache(), models=None
    )
    model = fresh.tuned_model(CONFIG)
    assert fresh.finetunes == 1
    assert accuracy(model, digits32.val) == measured.val_accuracy
    store = ModelStore(tmp_path)
    store.save("abc", model)
    (tmp_path / "damaged.h5").write_bytes(b"not hdf5")
    assert not store.load_into("damaged", model)
    assert not store.load_into("missing", model)
