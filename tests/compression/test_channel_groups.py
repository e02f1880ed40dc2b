"""Channel groups read from the graph agree with the search space files."""

from __future__ import annotations

import itertools

import pytest

from cnnpc._keras import keras, layers
from cnnpc.compression import channel_graph
from cnnpc.errors import InputError


@pytest.mark.parametrize("name", ["mobilenet", "resnet"])
def test_space_layers_are_the_layers_that_produce_each_candidate(small_models, spaces, name):
    graph = channel_graph(small_models[name])
    for cand in spaces[name].candidates:
        assert cand.layers == graph.producing_layers(cand.layers[-1]), cand.name
        group = graph.group_of(cand.layers[-1])
        assert group.channels == cand.channels
        assert group.prunable


@pytest.mark.parametrize("name", ["mobilenet", "resnet"])
def test_space_groups_are_the_residual_ties_of_the_graph(small_models, spaces, name):
    graph, space = channel_graph(small_models[name]), spaces[name]
    for a, b in itertools.combinations(space.candidates, 2):
        same_graph_group = graph.group_of(a.layers[-1]) == graph.group_of(b.layers[-1])
        assert same_graph_group == (b.name in space.group_of(a.name)), (a.name, b.name)


def test_mobilenet_residual_stream_is_one_group(small_models):
    graph = channel_graph(small_models["mobilenet"])
    group = graph.group_of("block_5_add")
    producers = {"block_3_project", "block_4_project", "block_5_project"}
    assert set(group.producers) == producers
    assert set(group.consumers) == {"block_4_expand", "block_5_expand", "block_6_expand"}
    # the stem's channels run through the first depthwise convolution to its projection
    stem = graph.group_of("Conv1_relu")
    assert "expanded_conv_depthwise" in stem.members
    assert stem.consumers == ("expanded_conv_project",)


def test_input_and_output_spaces_are_not_prunable(small_models):
    graph = channel_graph(small_models["resnet"])
    assert not graph.group_of("input").prunable
    assert not graph.group_of("predictions").prunable
    assert graph.group_of("pool").prunable  # the last stage's channels feed the classifier


def test_unknown_layers_fix_the_spaces_they_touch_and_are_named():
    x = keras.Input((8, 8, 3))
    a = layers.Conv2D(4, 3, name="conv")(x)
    b = layers.Lambda(lambda t: t * 2.0, name="double")(a)
    c = layers.Conv2D(5, 1, name="conv2")(b)
    y = layers.Flatten(name="flat")(c)
    model = keras.Model(x, layers.Dense(2, name="head")(y))
    graph = channel_graph(model)
    for layer in ("conv", "double"):
        group = graph.group_of(layer)
        assert not group.prunable
        assert "'double' (Lambda)" in group.reason
    flat = graph.group_of("flat")  # a Flatten keeps conv2's channels, repeated per position
    assert flat.prunable and flat == graph.group_of("conv2")
    assert graph.input_repeat["head"] == 36


def test_concatenation_is_pruned_through_its_parts():
    x = keras.Input((8, 8, 3))
    a = layers.Conv2D(4, 1, name="a")(x)
    b = layers.Conv2D(6, 1, name="b")(x)
    cat = layers.Concatenate(name="cat")([a, b])
    out = layers.GlobalAveragePooling2D(name="gap")(layers.BatchNormalization(name="bn")(cat))
    model = keras.Model(x, layers.Dense(2, name="head")(out))
    graph = channel_graph(model)
    group = graph.group_of("bn")
    assert group.channels == 10
    assert [graph.groups[p].members[0] for p in group.parts] == ["a", "b"]
    assert group.consumers == ("head",)


def test_shared_layers_are_refused():
    shared = layers.Conv2D(3, 1, name="shared")
    x = keras.Input((8, 8, 3))
    model = keras.Model(x, shared(shared(x)))
    with pytest.raises(InputError, match="called more than once"):
        channel_graph(model)
