"""Model surgery: really narrower tensors, the right channels, residual groups kept consistent."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnpc._keras import keras, layers
from cnnpc.compression import channel_graph, kept_count, prune_channels, select_channels
from cnnpc.errors import InputError, SearchSpaceError
from cnnpc.models import DEPLOY_SIZE, measure, resize_input
from cnnpc.spaces import parse_space


@pytest.mark.parametrize("name", ["mobilenet", "resnet"])
def test_keeping_every_channel_reproduces_the_model(small_models, spaces, images, name):
    model = small_models[name]
    pruned = prune_channels(model, spaces[name], {c.name: 1.0 for c in spaces[name].candidates})
    np.testing.assert_array_equal(pruned.model(images).numpy(), model(images).numpy())
    assert pruned.model.count_params() == model.count_params()
    assert pruned.channels == {c.name: c.channels for c in spaces[name].candidates}


@pytest.mark.parametrize(
    ("name", "keep"),
    [
        ("mobilenet", {"conv1": 0.25, "block3": 0.5, "block10": 0.125, "block16": 0.875}),
        ("mobilenet", {"block1": 0.375, "block6": 0.75, "block13": 0.625}),
        ("resnet", {"block1": 0.5, "block11": 0.25, "block16": 0.375}),
    ],
)
def test_pruning_gives_the_asked_channels_and_smaller_tensors(small_models, spaces, name, keep):
    model, space = small_models[name], spaces[name]
    pruned = prune_channels(model, space, keep)
    before, after = measure(model, space), measure(pruned.model, space)
    for cand in space.candidates:
        fraction = next((keep[n] for n in space.group_of(cand.name) if n in keep), 1.0)
        expected = kept_count(fraction, cand.channels)
        assert pruned.channels[cand.name] == expected, cand.name
        assert after.candidate(cand.name).channels == expected
        assert after.candidate(cand.name).bytes * cand.channels == (
            before.candidate(cand.name).bytes * expected
        )
        assert len(set(pruned.kept[cand.name])) == expected
    assert after.params < before.params
    assert after.flops < before.flops
    assert pruned.model(np.zeros((1, 32, 32, 3), np.float32)).shape == (1, 10)
    deployed = resize_input(pruned.model, DEPLOY_SIZE)
    assert deployed(np.zeros((1, DEPLOY_SIZE, DEPLOY_SIZE, 3), np.float32)).shape == (1, 10)


def test_tied_candidates_shrink_together(small_models, spaces):
    model, space = small_models["resnet"], spaces["resnet"]
    pruned = prune_channels(model, space, {"block1": 0.5})
    assert pruned.channels["block1"] == pruned.channels["block6"] == 32
    assert pruned.kept["block1"] == pruned.kept["block6"]
    for layer in ("stage1_unit1_add", "stage1_unit2_out", "stage1_unit2_bn2", "stem_pool"):
        assert pruned.model.get_layer(layer).output_shape[-1] == 32
    # the first stage's inner convolutions read 32 channels but keep their own 64 filters
    assert pruned.model.get_layer("stage1_unit1_conv1").get_weights()[0].shape == (3, 3, 32, 64)
    with pytest.raises(InputError, match="share a channel group"):
        prune_channels(model, space, {"block1": 0.5, "block6": 0.25})


@pytest.mark.parametrize("name", ["mobilenet", "resnet"])
def test_every_layer_of_a_group_has_the_same_width_after_pruning(small_models, spaces, name):
    model, space = small_models[name], spaces[name]
    pruned = prune_channels(model, space, {c.name: 0.375 for c in space.candidates})
    graph = channel_graph(model)
    for group in graph.groups:
        widths = {pruned.model.get_layer(m).output.shape[-1] for m in group.members}
        assert len(widths) == 1, group.members


def _zero_removed_inputs(model, graph, group, kept):
    """A copy of `model` in which the consumers of `group` ignore the channels not in `kept`."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    removed = np.setdiff1d(np.arange(group.channels), kept)
    for name in group.consumers:
        weights = copy.get_layer(name).get_weights()
        kernel = weights[0]
        index = [slice(None)] * kernel.ndim
        index[-2] = removed
        kernel[tuple(index)] = 0.0
        copy.get_layer(name).set_weights([kernel, *weights[1:]])
    return copy


@pytest.mark.parametrize(
    ("name", "candidate"),
    [
        ("mobilenet", "conv1"),
        ("mobilenet", "block6"),
        ("mobilenet", "block16"),
        ("resnet", "block6"),
    ],
)
def test_pruned_model_equals_the_original_with_removed_channels_cut_off(
    small_models, spaces, images, name, candidate
):
    """Surgery is exact: removing channels = the consumers no longer reading them."""
    model, space = small_models[name], spaces[name]
    pruned = prune_channels(model, space, {candidate: 0.5})
    graph = channel_graph(model)
    group = graph.group_of(space.candidates[space.index(candidate)].layers[-1])
    masked = _zero_removed_inputs(model, graph, group, np.array(pruned.kept[candidate]))
    probes = [*group.consumers, model.layers[-2].name]  # what reads the group, and the features

    def outputs(net):
        return keras.Model(net.input, [net.get_layer(p).output for p in probes])(images)

    results = zip(probes, outputs(pruned.model), outputs(masked), outputs(model), strict=True)
    for probe, a, b, c in results:
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=probe)
        if probe in group.consumers:  # the cut did change what the consumers read
            assert np.abs(np.asarray(b) - np.asarray(c)).max() > 1e-3, probe


def _tiny_model(filter_norms, gamma):
    """conv 'c' (4 filters of the given L1 norms) -> BN (gamma) -> ReLU -> conv -> dense."""
    x = keras.Input((6, 6, 2), name="input")
    y = layers.Conv2D(4, 1, use_bias=False, name="c")(x)
    y = layers.BatchNormalization(name="bn")(y)
    y = layers.ReLU(name="relu")(y)
    y = layers.Conv2D(3, 1, name="next")(y)
    y = layers.GlobalAveragePooling2D(name="gap")(y)
    model = keras.Model(x, layers.Dense(2, name="out")(y))
    kernel = np.zeros((1, 1, 2, 4), np.float32)
    kernel[0, 0, 0, :] = filter_norms
    model.get_layer("c").set_weights([kernel])
    model.get_layer("bn").set_weights(
        [np.asarray(gamma, np.float32), np.zeros(4), np.zeros(4), np.ones(4)]
    )
    return model


TINY_SPACE = parse_space(
    {
        "model": "tiny",
        "candidates": [{"name": "c", "channels": 4, "layers": ["c", "bn", "relu"]}],
        "keep_grid": [0.5, 1.0],
    },
    "tiny",
)


def test_the_channels_with_the_largest_folded_l1_norm_are_kept():
    pruned = prune_channels(
        _tiny_model([1.0, -4.0, 2.0, 3.0], [1, 1, 1, 1]), TINY_SPACE, {"c": 0.5}
    )
    assert pruned.kept["c"] == (1, 3)
    # batch norm's scale is part of a filter's real size: gamma 10 on channel 0 makes it win
    pruned = prune_channels(
        _tiny_model([1.0, -4.0, 2.0, 3.0], [10, 1, 1, 1]), TINY_SPACE, {"c": 0.5}
    )
    assert pruned.kept["c"] == (0, 1)
    weights = pruned.model.get_layer("c").get_weights()[0]
    np.testing.assert_array_equal(weights[0, 0, 0], [1.0, -4.0])


def test_select_channels_orders_and_breaks_ties_by_index():
    scores = np.array([0.5, 2.0, 2.0, 0.1, 3.0])
    assert select_channels(scores, 3).tolist() == [1, 2, 4]
    assert select_channels(scores, 2).tolist() == [1, 4]
    assert select_channels(scores, 5).tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("fraction", "channels", "kept"),
    [(0.5, 24, 12), (0.125, 24, 3), (0.01, 16, 1), (1.0, 7, 7), (0.3, 5, 2)],
)
def test_kept_count_rounds_half_up_and_keeps_one(fraction, channels, kept):
    assert kept_count(fraction, channels) == kept
    assert kept == max(1, math.floor(fraction * channels + 0.5))


@pytest.mark.parametrize(
    ("keep", "error", "message"),
    [
        ({"block99": 0.5}, SearchSpaceError, "unknown candidate 'block99'"),
        ({"block3": 0.0}, InputError, r"must be in \(0, 1\]"),
        ({"block3": 1.5}, InputError, r"must be in \(0, 1\]"),
        ({"block3": float("nan")}, InputError, r"must be in \(0, 1\]"),
    ],
)
def test_bad_keep_configurations(small_models, spaces, keep, error, message):
    with pytest.raises(error, match=message):
        prune_channels(small_models["mobilenet"], spaces["mobilenet"], keep)


def test_a_model_without_the_candidate_layers_is_a_different_architecture(small_models, spaces):
    with pytest.raises(InputError, match=r"no layer 'Conv1_relu'.*different architecture"):
        prune_channels(small_models["resnet"], spaces["mobilenet"], {"block3": 0.5})
