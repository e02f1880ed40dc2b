"""The supernet oracle (`--accuracy supernet`): slimmable weights trained once, sliced to any
configuration and measured in seconds; a search ranks on these estimates and confirms its answer
with real fine-tunes.

Importing this imports TensorFlow.
"""

from __future__ import annotations

from cnnpc.supernet._confirm import DEFAULT_MAX_CONFIRM, Confirmation, confirm, ranked
from cnnpc.supernet._masked import (
    ApplyMask,
    MaskedLeaf,
    NoQuantize,
    SandwichRecipe,
    masked_model,
    set_masks,
    train_sandwich,
)
from cnnpc.supernet._source import SOURCE, SupernetSource, supernet_source
from cnnpc.supernet._supernet import (
    Estimate,
    Supernet,
    check_supernet,
    prunable_leaves,
    recalibrate,
    trained_supernet,
)

__all__ = [
    "DEFAULT_MAX_CONFIRM",
    "SOURCE",
    "ApplyMask",
    "Confirmation",
    "Estimate",
    "MaskedLeaf",
    "NoQuantize",
    "SandwichRecipe",
    "Supernet",
    "SupernetSource",
    "check_supernet",
    "confirm",
    "masked_model",
    "prunable_leaves",
    "ranked",
    "recalibrate",
    "set_masks",
    "supernet_source",
    "train_sandwich",
    "trained_supernet",
]
