"""TF-MOT fine-tuning: quantization-aware training and gradual magnitude sparsity, tiny budgets."""

from __future__ import annotations

import numpy as np
import pytest

from cnnpc.compression import FinetuneBudget, finetune, prune_channels
from cnnpc.errors import InputError
from cnnpc.workloads import accuracy


def _kernel_sparsity(model, layers=None) -> float:
    """Fraction of zeros in the (non-depthwise) convolution kernels, of `layers` if given."""
    zeros = total = 0
    for weight in model.weights:
        owner, _, leaf = weight.name.rpartition("/")
        if layers is not None and owner not in layers:
            continue
        if leaf.startswith("kernel:") and len(weight.shape) == 4:  # TF-MOT skips depthwise
            values = weight.numpy()
            zeros += int(np.sum(values == 0.0))
            total += values.size
    return zeros / total


def test_quantization_aware_fine_tune_of_a_pruned_model(small_models, spaces, digits32):
    pruned = prune_channels(small_models["resnet"], spaces["resnet"], {"block11": 0.5}).model
    before = [w.copy() for w in pruned.get_weights()]
    result = finetune(pruned, digits32, FinetuneBudget(epochs=1, steps_per_epoch=2), seed=0)
    wrappers = {type(layer).__name__ for layer in result.model.layers}
    assert "QuantizeWrapperV2" in wrappers and "QuantizeLayer" in wrappers
    assert result.epochs_run == 1
    assert result.seconds > 0
    assert 0.0 <= accuracy(result.model, digits32.val) <= 1.0
    for a, b in zip(before, pruned.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the input model is not touched
    assert result.model.get_layer("quant_stage2_unit2_out").output_shape[-1] == 64


def test_sparsity_phase_reaches_its_target_and_is_stripped(toy_model, digits32):
    budget = FinetuneBudget(epochs=1, steps_per_epoch=2, sparsity=0.6, quantize=False)
    result = finetune(toy_model, digits32, budget, seed=0)
    assert not any("Prune" in type(layer).__name__ for layer in result.model.layers)
    assert _kernel_sparsity(toy_model) < 0.01  # the input model is not touched
    assert _kernel_sparsity(result.model) == pytest.approx(0.6, abs=0.02)


def test_sparsity_then_sparsity_preserving_quantization(toy_model, digits32):
    budget = FinetuneBudget(epochs=2, steps_per_epoch=2, sparsity=0.5)
    result = finetune(toy_model, digits32, budget, seed=0)
    assert result.epochs_run == 2
    assert any(type(layer).__name__ == "QuantizeWrapperV2" for layer in result.model.layers)
    # TF-MOT's prune-preserving QAT keeps the zeros of convolutions that feed a batch norm (all
    # of MobileNetV2's and ResNet's); it does not preserve depthwise kernels' sparsity
    assert _kernel_sparsity(result.model, {"c1", "c2"}) == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs must be >= 1"),
        ({"steps_per_epoch": 0}, "steps per epoch"),
        ({"sparsity": 1.0}, "sparsity must be in"),
        ({"learning_rate": -1.0}, "learning rate"),
    ],
)
def test_bad_budgets(kwargs, message):
    with pytest.raises(InputError, match=message):
        FinetuneBudget(**kwargs)
