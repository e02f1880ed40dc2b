"""--weights FILE: the user's saved model or weights, read from disk and checked."""

from __future__ import annotations

import numpy as np
import pytest

from cnnpc._keras import keras
from cnnpc.errors import InputError
from cnnpc.models import build_model
from cnnpc.oracle import saved_input_size, user_baseline


@pytest.fixture(scope="module")
def mobilenet32():
    keras.utils.set_random_seed(3)
    return build_model("mobilenet", 10, 32)


def _same_weights(a, b):
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)


def test_weights_only_file_loads_into_our_architecture(mobilenet32, mobilenet_space, tmp_path):
    path = tmp_path / "mine.weights.h5"
    mobilenet32.save_weights(path)
    assert saved_input_size(path) is None
    baseline = user_baseline("mobilenet", path, mobilenet_space, 10, 32)
    _same_weights(baseline.model, mobilenet32)
    assert baseline.source == f"weights:{path}" and len(baseline.key) == 20


def test_whole_saved_model_is_used_as_it_is(mobilenet32, mobilenet_space, tmp_path):
    path = tmp_path / "mine.keras"
    mobilenet32.save(path)
    assert saved_input_size(path) == 32
    baseline = user_baseline("mobilenet", path, mobilenet_space, 10, 224)
    _same_weights(baseline.model, mobilenet32)


def test_reference_imagenet_style_weights_file(mobilenet_space, tmp_path):
    """A Keras MobileNetV2 weights file (as published for ImageNet) is a valid --weights."""
    reference = keras.applications.MobileNetV2(weights=None, input_shape=(64, 64, 3))
    path = tmp_path / "mobilenet_v2_1.0.h5"
    reference.save_weights(path)
    baseline = user_baseline("mobilenet", path, mobilenet_space, 1000, 64)
    _same_weights(baseline.model, reference)


def test_weights_of_another_architecture(mobilenet_space, tmp_path):
    path = tmp_path / "resnet.weights.h5"
    build_model("resnet", 10, 32).save_weights(path)
    with pytest.raises(InputError, match="does not fit the mobilenet architecture"):
        user_baseline("mobilenet", path, mobilenet_space, 10, 32)


def test_saved_model_with_other_widths_or_classes(mobilenet_space, tmp_path):
    narrow = tmp_path / "narrow.keras"
    build_model("mobilenet", 10, 32, alpha=0.5).save(narrow)
    with pytest.raises(InputError, match=r"wrong architecture for mobilenet.*needs 32"):
        user_baseline("mobilenet", narrow, mobilenet_space, 10, 32)
    other = tmp_path / "resnet.keras"
    build_model("resnet", 10, 32).save(other)
    with pytest.raises(InputError, match="wrong architecture for mobilenet: no layer"):
        user_baseline("mobilenet", other, mobilenet_space, 10, 32)
    with pytest.raises(InputError, match="predicts 10 classes, the data has 5"):
        user_baseline("mobilenet", narrow, mobilenet_space, 5, 32)


def test_missing_unreadable_and_unknown_files(mobilenet_space, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        user_baseline("mobilenet", tmp_path / "nope.h5", mobilenet_space, 10, 32)
    (tmp_path / "fake.h5").write_text("not hdf5")
    not_keras = r"--weights .*: not a Keras model file \(neither a \.keras archive nor HDF5\)"
    with pytest.raises(InputError, match=not_keras):
        user_baseline("mobilenet", tmp_path / "fake.h5", mobilenet_space, 10, 32)
    (tmp_path / "fake.keras").write_text("not a zip")
    with pytest.raises(InputError, match=not_keras):
        user_baseline("mobilenet", tmp_path / "fake.keras", mobilenet_space, 10, 32)
    (tmp_path / "model.txt").write_text("x")
    with pytest.raises(InputError, match=not_keras):
        user_baseline("mobilenet", tmp_path / "model.txt", mobilenet_space, 10, 32)
