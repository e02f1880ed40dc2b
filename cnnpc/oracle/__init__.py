"""The accuracy oracle: what a pruning configuration costs in accuracy, with cached results.

Importing this imports TensorFlow.
"""

from __future__ import annotations

from cnnpc.oracle._baseline import (
    RECIPES,
    Baseline,
    Recipe,
    load_cached_weights,
    save_cached_weights,
    trained_baseline,
)
from cnnpc.oracle._cache import DiskCache, MemoryCache, ResultCache, default_cache_dir
from cnnpc.oracle._codec_measure import MEASURE_IMAGES, codec_measures
from cnnpc.oracle._oracle import AccuracyOracle, OracleResult
from cnnpc.oracle._recipes import BASELINE_RECIPE, FINETUNE_RECIPE, RecipeVersion
from cnnpc.oracle._setup import open_oracle
from cnnpc.oracle._tuned import ModelStore, tuned_architecture
from cnnpc.oracle._user import saved_input_size, user_baseline

__all__ = [
    "BASELINE_RECIPE",
    "FINETUNE_RECIPE",
    "MEASURE_IMAGES",
    "RECIPES",
    "AccuracyOracle",
    "Baseline",
    "DiskCache",
    "MemoryCache",
    "ModelStore",
    "OracleResult",
    "Recipe",
    "RecipeVersion",
    "ResultCache",
    "codec_measures",
    "default_cache_dir",
    "load_cached_weights",
    "open_oracle",
    "save_cached_weights",
    "saved_input_size",
    "trained_baseline",
    "tuned_architecture",
    "user_baseline",
]
