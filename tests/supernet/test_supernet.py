"""The supernet keeps exactly the surgery's channels, masks equal slicing, and it is cached."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cnnpc._keras import keras, tfmot
from cnnpc.compression import SplitQuantize, channel_graph, prune_channels, rebuild
from cnnpc.errors import InputError
from cnnpc.supernet import (
    ApplyMask,
    MaskedLeaf,
    NoQuantize,
    masked_model,
    prunable_leaves,
    recalibrate,
    set_masks,
    trained_supernet,
)
from cnnpc.supernet._supernet import importance_orders

QuantizeWrapperV2 = tfmot.quantization.keras.QuantizeWrapperV2

pytestmark = pytest.mark.slow  # trains a tiny baseline and supernet (seconds)

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
    masked = [MaskedLeaf(g, orders[g], (1, graph.groups[g].channels)) for g in leaves]
    net = masked_model(supernet.model, graph, masked)
    set_masks(net, supernet.masks(config))
    x = digits32.val.x[:8]
    narrow = rebuild(supernet.model, graph, supernet.kept_indices(config))
    np.testing.assert_allclose(
        net(x, training=False).numpy(), narrow(x, training=False).numpy(), atol=1e-5
    )


def test_the_supernet_is_quantization_aware_and_masks_its_wrappers(supernet):
    """Trained and estimated in TF-MOT wrappers; the mask layers annotated to quantize nothing."""
    wrapped = [x for x in supernet.net.layers if isinstance(x, QuantizeWrapperV2)]
    assert any(isinstance(x.layer, keras.layers.Conv2D) for x in wrapped)
    masks = [x for x in wrapped if isinstance(x.layer, ApplyMask)]
    assert masks and all(isinstance(x.quantize_config, NoQuantize) for x in masks)
    assert not any(w.trainable for x in masks for w in x.layer.weights)


def test_an_estimate_leaves_the_network_as_it_was(supernet):
    before = supernet.net.get_weights()
    first = supernet.estimate({"block3": 0.25, "block13": 0.5})
    for a, b in zip(before, supernet.net.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    again = supernet.estimate({"block3": 0.25, "block13": 0.5})
    assert (again.val_accuracy, again.test_accuracy) == (first.val_accuracy, first.test_accuracy)


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


def test_an_opaque_layer_is_named_in_the_one_line(space):
    """Channel groups the surgery cannot follow (a Lambda) cannot be slimmed either."""
    x = keras.Input((8, 8, 3), name="input")
    a = keras.layers.Conv2D(4, 3, padding="same", name="conv")(x)
    b = keras.layers.Lambda(lambda t: t * 2.0, name="double")(a)
    c = keras.layers.Conv2D(5, 3, padding="same", name="conv2")(b)
    y = keras.layers.Dense(2, name="head")(keras.layers.GlobalAveragePooling2D(name="gap")(c))
    model = keras.Model(x, y)
    only = dataclasses.replace(space.candidates[0], name="conv", layers=("conv",), channels=4)
    lam = dataclasses.replace(space, candidates=(only,))
    with pytest.raises(InputError, match=r"conv: .*'double' \(Lambda\)"):
        prunable_leaves(model, lam, channel_graph(model))


def test_cli_refuses_supernet_for_an_unprunable_model_before_writing(tmp_path, monkeypatch, capsys):
    import cnnpc.spaces
    from cnnpc.cli._main import main

    real = cnnpc.spaces.load_space

    def unprunable(name):
        s = real(name)
        fixed = tuple(dataclasses.replace(c, prunable=False) for c in s.candidates)
        return dataclasses.replace(s, candidates=fixed)

    monkeypatch.setattr(cnnpc.spaces, "load_space", unprunable)
    db = tmp_path / "cnnpc.db"
    for command in (
        ["search", "--acc-floor", "0.9"],
        ["sweep", "--bandwidth", "1:10:5", "--acc-floor", "0.9"],
    ):
        argv = [*command, "--model", "mobilenet", "--device", "MI8", "--accuracy", "supernet"]
        if command[0] == "search":
            argv += ["--bandwidth", "10"]
        capsys.readouterr()
        assert main([*argv, "--storage", f"sqlite:///{db}"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--accuracy supernet: no candidate" in err, err
        assert not db.exists()


def test_the_supernet_recipe_behaves_as_its_version_says(supernet):
    """The tiny supernet's weights are those recorded for SUPERNET_RECIPE (see
    tests/oracle/test_recipes.py: a change of behaviour needs a version bump)."""
    from oracle.recipes import check_recipe, fingerprint

    from cnnpc.supernet import SUPERNET_RECIPE

    check_recipe(SUPERNET_RECIPE, "SUPERNET_RECIPE", fingerprint(supernet.model.get_weights()))


def test_an_estimate_below_8_bits_rounds_the_masked_split_tensor(supernet, digits32):
    """`block3@bits=2`: the estimate's network reads block3's tensor after its mask through a
    2-bit quantizer (at most 4 values per example, dropped channels still 0); at 8 bits it is
    the int8 estimate; the network is left as it was."""
    config = {"block3": 0.25}
    before = supernet.net.get_weights()
    int8 = supernet.estimate(config)
    at8 = supernet.estimate({**config, "block3@bits": 8.0})
    assert (at8.val_accuracy, at8.test_accuracy, at8.kept) == (
        int8.val_accuracy,
        int8.test_accuracy,
        int8.kept,
    )
    coded = supernet.estimate({**config, "block3@bits": 2.0})
    assert coded.kept == int8.kept
    for got, want in zip(supernet.net.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)
    set_masks(supernet.net, supernet.masks(config))
    try:
        net = supernet.coded_net((("block3", 2),))
        quantizers = [layer for layer in net.layers if isinstance(layer, SplitQuantize)]
        assert len(quantizers) >= 1 and all(q.bits == 2 for q in quantizers)
        reads = quantizers[0].inbound_nodes[0].inbound_layers
        mask_layer = getattr(reads, "layer", reads)
        assert type(mask_layer).__name__ == "ApplyMask"
        mask = mask_layer.mask.numpy()
        assert (mask == 0).any()  # a quarter kept: the copy has the set mask
        values = keras.Model(net.input, quantizers[0].output).predict(digits32.val.x[:8], verbose=0)
        assert max(len(np.unique(v)) for v in values) <= 4
        assert np.all(values[..., mask == 0] == 0)
        before_rounding = keras.Model(net.input, reads.output).predict(
            digits32.val.x[:8], verbose=0
        )
        assert not np.array_equal(values, before_rounding)
        assert quantizers[0].outbound_nodes  # what the next layers read
    finally:
        supernet.net.set_weights(before)
