"""The supernet: slimmable weights trained once, then sliced to any configuration in seconds.

`trained_supernet` trains (or loads) the weights beside the baseline they start from, keyed like
a baseline (model, workload, seed, recipe, `SUPERNET_RECIPE`) plus the baseline's own key.
`Supernet.estimate` keeps exactly the channels the surgery keeps on the baseline
(`prune_channels`: the baseline's L1 importance order, the same rounding), drops the others with
the quantization-aware network's masks (equal to cutting the weights with the surgery's
`rebuild`: tested), re-estimates batch-norm statistics on a few training batches and measures
accuracy: an estimate of what a fine-tune of that configuration would reach, without the
fine-tune. Like the fine-tunes, the supernet is quantization-aware (TF-MOT's default 8-bit scheme),
so an estimate is an int8-aware accuracy as a fine-tune's is.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cnnpc._keras import keras
from cnnpc.codec import SplitBits, split_bits
from cnnpc.compression import (
    ChannelGraph,
    Indices,
    candidate_groups,
    channel_graph,
    channel_scores,
    copy_weights,
    group_fractions,
    group_indices,
    kept_count,
    quantize_after,
    rebuild,
    select_channels,
    split_layer,
)
from cnnpc.errors import InputError
from cnnpc.oracle import Baseline, RecipeVersion, load_cached_weights, save_cached_weights
from cnnpc.records import split_config
from cnnpc.spaces import SearchSpace
from cnnpc.supernet._masked import (
    MASK_OBJECTS,
    ApplyMask,
    MaskedLeaf,
    SandwichRecipe,
    copy_float_weights,
    inner,
    masked_model,
    set_masks,
    train_sandwich,
)
from cnnpc.workloads import Workload, accuracy

SUPERNET_RECIPE = RecipeVersion("supernet", 1, first_key="cac0d45a69a6")
"""Training the masked supernet (cnnpc.oracle.RecipeVersion: bump when its behaviour changes)."""


@dataclass(frozen=True)
class Estimate:
    """One configuration as the supernet sees it."""

    kept: dict[str, int]
    """Channels each candidate keeps."""
    val_accuracy: float
    test_accuracy: float
    seconds: float
    """Slicing, batch-norm re-estimation and measuring."""


def prunable_leaves(baseline: Any, space: SearchSpace, graph: ChannelGraph | None) -> list[int]:
    """The leaf groups of the space's prunable candidates; none: a one-line error."""
    groups = {} if graph is None else candidate_groups(baseline, space, graph)
    leaves: list[int] = []
    reasons = []
    for cand in space.candidates:
        if not cand.prunable:
            reasons.append(f"{cand.name}: not prunable in the search space")
            continue
        group = groups[cand.name]
        if not group.prunable:
            reasons.append(f"{cand.name}: {group.reason}")
        else:
            leaves.extend(g for g in group.leaves if g not in leaves)
    if not leaves:
        raise InputError(
            f"--accuracy supernet: no candidate of {space.model!r} can be pruned "
            f"({'; '.join(reasons)}); use --accuracy finetune"
        )
    return leaves


def check_supernet(model_name: str) -> None:
    """Refuse `--accuracy supernet` for a model none of whose candidates can be pruned, before
    anything is written (builds the untrained architecture: no training, no files)."""
    from cnnpc.models import build_model, model_spec
    from cnnpc.spaces import load_space

    space = load_space(model_name)
    if not any(c.prunable for c in space.candidates):
        prunable_leaves(None, space, None)  # the one message, from the search space alone
    model = build_model(model_name, 10, model_spec(model_name).train_size)
    prunable_leaves(model, space, channel_graph(model))


def importance_orders(baseline: Any, graph: ChannelGraph, leaves: list[int]) -> dict[int, Any]:
    """Each leaf's channels, most important first, as `select_channels` ranks them."""
    orders = {}
    for leaf in leaves:
        scores = channel_scores(baseline, graph, graph.groups[leaf])
        orders[leaf] = np.lexsort((np.arange(scores.size), -scores)).astype(np.int64)
    return orders


class Supernet:
    """Slimmable weights for one baseline, workload and search space."""

    def __init__(
        self,
        baseline: Baseline,
        model: Any,
        net: Any,
        workload: Workload,
        space: SearchSpace,
        key: str,
        train_seconds: float,
        from_cache: bool,
        calibration_batches: int = 8,
    ) -> None:
        self.baseline = baseline
        self.model = model
        """The trained weights in the baseline's float architecture (what `sliced` cuts)."""
        self.net = net
        """The trained masked network (quantization-aware unless the recipe says otherwise):
        what `estimate` measures."""
        self.workload = workload
        self.space = space
        self.key = key
        self.train_seconds = train_seconds
        self.from_cache = from_cache
        self.calibration_batches = calibration_batches
        self._coded: dict[SplitBits, Any] = {}
        self._graph = channel_graph(baseline.model)
        self._groups = candidate_groups(baseline.model, space, self._graph)
        leaves = prunable_leaves(baseline.model, space, self._graph)
        self._scores = {
            leaf: channel_scores(baseline.model, self._graph, self._graph.groups[leaf])
            for leaf in leaves
        }

    def kept_indices(self, config: Mapping[str, float]) -> dict[int, Indices]:
        """Per pruned leaf group, the channels kept: those `prune_channels(baseline)` keeps."""
        fractions = group_fractions(self.space, self._groups, config)
        kept: dict[int, Indices] = {}
        for leaf, fraction in fractions.items():
            channels = self._graph.groups[leaf].channels
            count = kept_count(fraction, channels)
            if count < channels:
                kept[leaf] = select_channels(self._scores[leaf], count)
        return kept

    def kept(self, config: Mapping[str, float]) -> dict[str, tuple[int, ...]]:
        """Per candidate, the original channels the slice keeps (as `PrunedModel.kept`)."""
        by_group = self.kept_indices(config)
        out: dict[str, tuple[int, ...]] = {}
        for name, group in self._groups.items():
            idx = group_indices(self._graph, by_group, group.id)
            out[name] = tuple(int(i) for i in (np.arange(group.channels) if idx is None else idx))
        return out

    def masks(self, config: Mapping[str, float]) -> dict[int, npt.NDArray[np.float32]]:
        """Per pruned leaf group, 1 on exactly the channels `kept_indices` keeps."""
        out = {}
        for leaf, idx in self.kept_indices(config).items():
            mask = np.zeros(self._graph.groups[leaf].channels, dtype=np.float32)
            mask[np.asarray(idx)] = 1.0
            out[leaf] = mask
        return out

    def sliced(self, config: Mapping[str, float]) -> Any:
        """The float supernet cut to `config` by the surgery's `rebuild`, batch-norm statistics
        re-estimated."""
        model = rebuild(self.model, self._graph, self.kept_indices(config))
        recalibrate(model, self.workload, self.calibration_batches)
        return model

    def estimate(self, config: Mapping[str, float]) -> Estimate:
        """The masked network's accuracy on `config` (its state restored afterwards); split
        tensors the configuration sends below 8 bits (``NAME@bits``) are rounded as the codec
        rounds them (`coded_net`)."""
        start = time.perf_counter()
        fractions, widths = split_config(config)
        bits = split_bits(widths, self.space.names)
        saved = self.net.get_weights()
        try:
            set_masks(self.net, self.masks(fractions))
            recalibrate(self.net, self.workload, self.calibration_batches)
            measured = self.coded_net(bits)
            val = accuracy(measured, self.workload.val)
            test = accuracy(measured, self.workload.test)
        finally:
            self.net.set_weights(saved)
        return Estimate(
            kept={n: len(k) for n, k in self.kept(fractions).items()},
            val_accuracy=val,
            test_accuracy=test,
            seconds=time.perf_counter() - start,
        )

    def coded_net(self, bits: SplitBits) -> Any:
        """The masked network with the current weights and masks, each split tensor of `bits`
        rounded to its width after its mask (what the codec sends of the pruned tensor: a
        dropped channel is 0, which every range holds and the rounding keeps); the network
        itself without `bits`. Built once per widths, its weights copied in each time."""
        if not bits:
            return self.net
        coded = self._coded.get(bits)
        if coded is None:
            coded = quantize_after(self.net, self._split_readers(bits), MASK_OBJECTS)
            self._coded[bits] = coded
        else:
            copy_weights(self.net, coded)
        return coded

    def _split_readers(self, bits: SplitBits) -> dict[str, tuple[str, int]]:
        """The layers each split tensor of `bits` leaves the split through (its masks; the
        split layer when its group is not masked), with the quantizer each one gets."""
        layers = self.net.get_config()["layers"]
        names = {layer["name"] for layer in layers}
        readers: dict[str, tuple[str, int]] = {}
        for split, width in bits:
            layer = split_layer(self.space.candidates[self.space.index(split)])
            layer = layer if layer in names else f"quant_{layer}"
            masks = [
                other["name"]
                for other in layers
                if other["name"] != layer
                and _reads(other["inbound_nodes"], layer)
                and isinstance(inner(self.net.get_layer(other["name"])), ApplyMask)
            ]
            for i, mask in enumerate(masks or [layer]):
                readers[mask] = (f"{split}_{i}", width)
        return readers


def _reads(value: Any, layer: str) -> bool:
    """Whether a functional config's inbound nodes reference `layer`."""
    if isinstance(value, list):
        if value and value[0] == layer and len(value) >= 3:
            return True
        return any(_reads(v, layer) for v in value)
    return False


def recalibrate(model: Any, workload: Workload, batches: int, batch_size: int = 64) -> None:
    """Batch-norm moving statistics := their mean over `batches` training batches (the narrow
    network's own statistics; those of the supernet mix every width it trained). In a
    quantization-aware network this also moves the activation ranges a little: `estimate`
    restores them."""
    layers = [inner(layer) for layer in model.layers]
    norms = [x for x in layers if isinstance(x, keras.layers.BatchNormalization)]
    if not norms:
        return
    saved = [layer.momentum for layer in norms]
    rng = np.random.default_rng(0)
    x = workload.train.x
    try:
        for i in range(1, batches + 1):
            for layer in norms:
                layer.momentum = 1.0 - 1.0 / i  # a running mean over the batches so far
            idx = rng.choice(len(x), size=min(batch_size, len(x)), replace=False)
            model(x[idx], training=True)
    finally:
        for layer, momentum in zip(norms, saved, strict=True):
            layer.momentum = momentum


def supernet_key(baseline: Baseline, workload: Workload, seed: int, recipe: SandwichRecipe) -> str:
    parts = {
        "baseline": baseline.key,
        "data": workload.fingerprint,
        "seed": seed,
        "recipe": asdict(recipe),
        "code": SUPERNET_RECIPE.key,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def trained_supernet(
    baseline: Baseline,
    workload: Workload,
    space: SearchSpace,
    seed: int,
    cache_dir: str | Path,
    recipe: SandwichRecipe | None = None,
) -> Supernet:
    """The supernet of `baseline`: loaded from ``cache_dir/supernets``, or trained and saved."""
    recipe = recipe or SandwichRecipe()
    graph = channel_graph(baseline.model)
    leaves = prunable_leaves(baseline.model, space, graph)  # refuse before any training
    key = supernet_key(baseline, workload, seed, recipe)
    folder = Path(cache_dir) / "supernets"
    weights, meta_path = folder / f"{key}.h5", folder / f"{key}.json"
    model = keras.models.clone_model(baseline.model)
    model.set_weights(baseline.model.get_weights())
    orders = importance_orders(baseline.model, graph, leaves)
    masked = [
        MaskedLeaf(leaf, orders[leaf], _widths(space, graph.groups[leaf].channels))
        for leaf in leaves
    ]
    net = masked_model(model, graph, masked, quantize=recipe.quantize)
    meta = load_cached_weights(net, weights, meta_path)
    if meta is not None:
        seconds = float(meta["train_seconds"])
    else:
        seconds = train_sandwich(net, masked, workload, recipe, seed)
        record = {"baseline": baseline.key, "recipe": asdict(recipe), "train_seconds": seconds}
        save_cached_weights(net, weights, meta_path, record)
    copy_float_weights(net, model)
    return Supernet(baseline, model, net, workload, space, key, seconds, meta is not None)


def _widths(space: SearchSpace, channels: int) -> tuple[int, ...]:
    """Channel counts of the space's keep grid (every count on the per-channel grid)."""
    grid = space.keep_grid
    if isinstance(grid, str):
        return tuple(range(1, channels + 1))
    return tuple(sorted({kept_count(f, channels) for f in (*grid, 1.0)}))
