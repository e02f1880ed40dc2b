"""The architectures: CNNPC's candidate tensors at 224x224, any input size, known sizes."""

from __future__ import annotations

import numpy as np
import pytest

from cnnpc._keras import keras
from cnnpc.errors import InputError
from cnnpc.models import DEPLOY_SIZE, MODELS, build_model, count_flops, measure, resize_input
from cnnpc.profiles import list_profiles, load_profile
from cnnpc.spaces import load_space


@pytest.fixture(scope="module")
def deployed() -> dict[str, object]:
    """Both models at the deployment size with ImageNet's 1000 classes."""
    return {name: build_model(name, 1000, DEPLOY_SIZE) for name in MODELS}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_candidate_tensors_match_every_shipped_profile(deployed, name):
    model, space = deployed[name], load_space(name)
    for device in list_profiles()[name]:
        profile = load_profile(name, device)
        assert profile.input.height == DEPLOY_SIZE
        for cand, tensor in zip(space.candidates, profile.candidates, strict=True):
            shape = model.get_layer(cand.layers[-1]).output_shape
            assert shape[1:] == (tensor.height, tensor.width, tensor.channels), cand.name


def test_mobilenet_is_mobilenet_v2(deployed):
    """Same parameter count and FLOPs as the reference network (3.54 M params, ~300 M MACs)."""
    model = deployed["mobilenet"]
    assert model.count_params() == 3_538_984
    assert count_flops(model) == pytest.approx(2 * 300.8e6, rel=0.01)


def test_mobilenet_loads_reference_weights_and_computes_the_same(deployed, tmp_path):
    """A weights file of Keras' own MobileNetV2 (e.g. an ImageNet checkpoint) fits ours exactly."""
    reference = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3))
    path = tmp_path / "reference.h5"
    reference.save_weights(path)
    ours = build_model("mobilenet", 1000, 96)
    ours.load_weights(path)
    x = np.random.default_rng(0).random((2, 96, 96, 3), dtype=np.float32)
    np.testing.assert_allclose(ours(x).numpy(), reference(x).numpy(), rtol=1e-5, atol=1e-6)


def test_resnet_is_resnet18_sized(deployed):
    model = deployed["resnet"]
    assert model.count_params() == 11_699_112  # ResNet-18 with 1000 classes
    assert count_flops(model) == pytest.approx(2 * 1.814e9, rel=0.01)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_forward_pass_at_training_and_deployment_size(name):
    space = load_space(name)
    small = build_model(name, 10, 32)
    x = np.random.default_rng(1).random((3, 32, 32, 3), dtype=np.float32)
    probabilities = small(x).numpy()
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    big = resize_input(small, DEPLOY_SIZE)
    assert big.input_shape == (None, DEPLOY_SIZE, DEPLOY_SIZE, 3)
    assert big(np.zeros((1, DEPLOY_SIZE, DEPLOY_SIZE, 3), np.float32)).shape == (1, 10)
    for a, b in zip(small.get_weights(), big.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    size = measure(small, space)
    assert [c.channels for c in size.candidates] == [c.channels for c in space.candidates]


def test_measure_prices_candidates_at_deployment_size():
    space = load_space("mobilenet")
    size = measure(build_model("mobilenet", 10, 32), space)
    assert size.input_size == DEPLOY_SIZE
    assert size.candidate("conv1").bytes == 112 * 112 * 32
    assert size.candidate("block16").bytes == 7 * 7 * 160
    assert size.params == build_model("mobilenet", 10, 64).count_params()


def test_width_multiplier_scales_channels():
    model = build_model("mobilenet", 10, 32, alpha=0.5)
    assert model.get_layer("block_2_add").output_shape[-1] == 16  # 24 * 0.5 rounded to 8s
    assert model.get_layer("Conv1").output_shape[-1] == 16


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "vgg", "num_classes": 10}, "unknown model 'vgg'"),
        ({"name": "mobilenet", "num_classes": 1}, "at least 2 classes"),
        ({"name": "mobilenet", "num_classes": 10, "input_size": 4}, "at least 8 pixels"),
        ({"name": "resnet", "num_classes": 10, "alpha": 0.0}, "width multiplier"),
    ],
)
def test_bad_build_arguments(kwargs, message):
    with pytest.raises(InputError, match=message):
        build_model(**kwargs)
