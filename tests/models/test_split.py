"""segment_models: consecutive sub-models that compose to the whole (plain, pruned and QAT)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cnnpc._keras import keras, tfmot
from cnnpc.compression import prune_channels, split_layer
from cnnpc.errors import InputError
from cnnpc.models import build_model, output_range, segment_models
from cnnpc.spaces import load_space

SPACE = load_space("mobilenet")
CUTS = [split_layer(SPACE.candidates[SPACE.index(n)]) for n in ("block3", "block10")]


@pytest.fixture(scope="module")
def pruned() -> Any:
    keras.utils.set_random_seed(0)
    model = build_model("mobilenet", 10, 32)
    return prune_channels(model, SPACE, {"block3": 0.5, "block10": 0.25}).model


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)


def _compose(segments: list[Any], x: np.ndarray) -> np.ndarray:
    for segment in segments:
        x = segment(x).numpy()
    return x


def test_segments_compose_to_the_whole_pruned_model(pruned: Any, images: np.ndarray) -> None:
    segments = segment_models(pruned, CUTS)
    assert len(segments) == 3
    assert segments[0].output_shape == (None, 8, 8, 12)  # block3 keeps 12 of 24 channels
    assert segments[1].input_shape == (None, 8, 8, 12)
    assert segments[2].output_shape == (None, 10)
    np.testing.assert_allclose(_compose(segments, images), pruned(images).numpy(), atol=1e-5)


def test_no_boundary_gives_the_whole_model(pruned: Any, images: np.ndarray) -> None:
    (whole,) = segment_models(pruned, [])
    np.testing.assert_allclose(whole(images).numpy(), pruned(images).numpy(), atol=1e-6)


def test_qat_segments_share_the_trained_boundary_ranges(pruned: Any, images: np.ndarray) -> None:
    qat = tfmot.quantization.keras.quantize_model(pruned)
    qat(images, training=True)  # moves the activation ranges off their initial values
    segments = segment_models(qat, CUTS)  # plain names find the quant_ wrappers
    boundary = output_range(qat.get_layer(f"quant_{CUTS[0]}"))
    assert boundary is not None
    quant = segments[1].get_layer("seg1_quant")
    assert (quant.min_value, quant.max_value) == pytest.approx(boundary)
    np.testing.assert_allclose(_compose(segments, images), qat(images).numpy(), atol=1e-5)


def test_the_original_model_is_left_alone(pruned: Any, images: np.ndarray) -> None:
    before = pruned(images).numpy()
    segment_models(pruned, CUTS)
    assert len(pruned.get_layer(CUTS[0]).inbound_nodes) == 1
    np.testing.assert_allclose(pruned(images).numpy(), before)


@pytest.mark.parametrize(
    ("cuts", "message"),
    [
        (["no_such_layer"], "no layer 'no_such_layer'"),
        ([CUTS[1], CUTS[0]], "cannot cut"),  # out of network order
        (["block_2_project_BN"], "cannot cut"),  # block_2_add also needs block 1: unclean
        ([CUTS[0], CUTS[0]], "twice"),
    ],
)
def test_bad_boundaries_are_one_line_errors(pruned: Any, cuts: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        segment_models(pruned, cuts)


def test_boundary_after_a_pooling_takes_the_range_that_feeds_it():
    """TF-MOT gives pooling and padding no quantizer: the next segment still starts fake-quantized
    with the range of the layer feeding them, so its int8 input matches the sender's output."""
    from cnnpc._keras import keras, layers, tfmot
    from cnnpc.models._split import boundary_layer, boundary_range, output_range

    x = keras.Input((16, 16, 3))
    y = layers.ReLU(name="r")(layers.BatchNormalization()(layers.Conv2D(8, 3, name="c")(x)))
    y = layers.MaxPooling2D(name="pool")(layers.ZeroPadding2D(name="pad")(y))
    model = tfmot.quantization.keras.quantize_model(
        keras.Model(x, layers.Dense(2)(layers.Flatten()(y)))
    )
    pool = boundary_layer(model, "pool")
    assert output_range(pool) is None
    assert boundary_range(pool) == output_range(boundary_layer(model, "r")) is not None
    second = segment_models(model, ["pool"])[1]
    assert any(type(layer).__name__ == "BoundaryQuant" for layer in second.layers)
