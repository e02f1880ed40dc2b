"""The supernet keeps exactly the surgery's channels, masks equal slicing, and it is cached."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cnnpc.compression import channel_graph, prune_channels
from cnnpc.errors import InputError
from cnnpc.models._keras import keras
from cnnpc.supernet import (
    MaskedLeaf,
    masked_model,
    prunable_leaves,
    recalibrate,
    trained_supernet,
)
from cnnpc.supernet._supernet import importance_orders

CONFIGS = [
    {},
    {"block3": 0.25},
    {"conv1": 0.5, "block10": 0.125},
    {"block16": 0.375, "block1": 0.875},
    {"block6": 1 / 32},  # one channel: the per-channel grid's narrowest
]


@pytest.mark.parametrize("config", CONFIGS)
def test_slicing_keeps_exactly_the_surgery_channels(supernet, baseline, space, config):
    surgery = prune_channels(baseline.model, space, config)
    assert supernet.kept(config) == dict(surgery.kept)
    sliced = supernet.sliced(config)
    for layer in surgery.model.layers:
        got = [w.shape for w in sliced.get_layer(layer.name).get_weights()]
        assert got == [w.shape for w in layer.get_weights()], layer.name


def test_masks_compute_what_the_slice_computes(supernet, baseline, space, digits32):
    """A mask that drops the channels the surgery removes is the pruned network (inference)."""
    config = {"block3": 0.25, "block13": 0.5}
    graph = channel_graph(supernet.model)
    leaves = prunable_leaves(baseline.model, space, graph)
    orders = importance_orders(baseline.model, graph, leaves)
    kept = supernet.kept_indices(config)
    masked = [MaskedLeaf(g, orders[g], (1, graph.groups[g].channels)) for g in leaves]
    net = masked_model(supernet.model, graph, masked)
    x = digits32.val.x[:8]
    masks = []
    for leaf in masked:
        mask = np.zeros((len(x), len(leaf.order)), dtype=np.float32)
        mask[:, kept.get(leaf.group, np.arange(len(leaf.order)))] = 1.0
        masks.append(mask)
    from cnnpc.compression import rebuild

    narrow = rebuild(supernet.model, graph, kept)
    np.testing.assert_allclose(
        net([x, *masks], training=False).numpy(), narrow(x, training=False).numpy(), atol=1e-5
    )


def test_supernet_is_cached_beside_the_baseline(
    supernet, baseline, digits32, space, cache_root, tiny_sandwich
):
    again = trained_supernet(baseline, digits32, space, 0, cache_root, tiny_sandwich)
    assert again.from_cache and again.key == supernet.key
    for a, b in zip(again.model.get_weights(), supernet.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert (cache_root / "supernets" / f"{supernet.key}.h5").is_file()
    other = dataclasses.replace(tiny_sandwich, random_widths=2)
    from cnnpc.supernet._supernet import supernet_key

    assert supernet_key(baseline, digits32, 0, other) != supernet.key


def test_supernet_weights_moved_from_the_baseline(supernet, baseline):
    changed = [
        not np.array_equal(a, b)
        for a, b in zip(supernet.model.get_weights(), baseline.model.get_weights(), strict=True)
    ]
    assert any(changed)


def test_estimate_and_recalibration(supernet, digits32):
    estimate = supernet.estimate({"block6": 0.25})
    assert estimate.kept["block6"] == 8
    assert 0.0 <= estimate.val_accuracy <= 1.0 and 0.0 <= estimate.test_accuracy <= 1.0
    model = keras.models.clone_model(supernet.model)
    model.set_weights(supernet.model.get_weights())
    bn = next(x for x in model.layers if isinstance(x, keras.layers.BatchNormalization))
    before = bn.moving_mean.numpy().copy()
    recalibrate(model, digits32, 2)
    assert not np.allclose(before, bn.moving_mean.numpy())
    assert bn.momentum == supernet.model.get_layer(bn.name).momentum  # restored


def test_no_prunable_candidate_is_one_line(space):
    fixed = dataclasses.replace(
        space, candidates=tuple(dataclasses.replace(c, prunable=False) for c in space.candidates)
    )
    with pytest.raises(InputError, match="--accuracy supernet: no candidate of 'mobilenet'"):
        prunable_leaves(None, fixed, None)
