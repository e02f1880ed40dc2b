"""The supernet oracle (`--accuracy supernet`): slimmable weights trained once, sliced to any
configuration and measured in seconds; a search ranks on these estimates and confirms its answer
with real fine-tunes (`cnnpc.search.confirm`).

Importing this imports TensorFlow.
"""

from __future__ import annotations

from cnnpc.supernet._masked import (
    ApplyMask,
    MaskedLeaf,
    NoQuantize,
    SandwichRecipe,
    masked_model,
    set_masks,
    train_sandwich,
)
from cnnpc.supernet._source import SupernetSource, supernet_source
from cnnpc.supernet._supernet import (
    SUPERNET_RECIPE,
    Estimate,
    Supernet,
    check_supernet,
    prunable_leaves,
    recalibrate,
    trained_supernet,
)

__all__ = [
    "SUPERNET_RECIPE",
    "ApplyMask",
    "Estimate",
    "MaskedLeaf",
    "NoQuantize",
    "SandwichRecipe",
    "Supernet",
    "SupernetSource",
    "check_supernet",
    "masked_model",
    "prunable_leaves",
    "recalibrate",
    "set_masks",
    "supernet_source",
    "train_sandwich",
    "trained_supernet",
]
