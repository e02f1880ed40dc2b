"""Baseline weights: trained by cnnpc on first use (seeded), then loaded from the cache.

A baseline is keyed by model, workload (name and a hash of its data), seed, training recipe and
the recipe's declared version (`BASELINE_RECIPE`), so changing any of them trains a new one
instead of reusing stale weights, while an edit that keeps the behaviour keeps the cache.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cnnpc._files import make_folder, write_text, write_with
from cnnpc._keras import keras
from cnnpc.catalog import fingerprint
from cnnpc.models import build_model, model_spec
from cnnpc.oracle._recipes import BASELINE_RECIPE
from cnnpc.workloads import Workload, fit


@dataclass(frozen=True)
class Recipe:
    """How a baseline is trained from scratch."""

    epochs: int = 20
    learning_rate: float = 2e-3
    patience: int = 6
    batch_size: int = 32
    steps_per_epoch: int | None = None


RECIPES: dict[str, Recipe] = {"mobilenet": Recipe(), "resnet": Recipe(epochs=15)}


@dataclass(frozen=True)
class Baseline:
    """The unpruned model every candidate is cut from, and where it came from."""

    model_name: str
    model: Any
    key: str
    """Identifies these weights in fine-tune cache keys."""
    source: str
    train_seconds: float | None = None
    epochs_run: int | None = None
    from_cache: bool = False


def baseline_key(model_name: str, workload: Workload, seed: int, recipe: Recipe) -> str:
    parts = {
        "model": model_name,
        "workload": workload.name,
        "data": workload.fingerprint,
        "seed": seed,
        "recipe": asdict(recipe),
        "code": BASELINE_RECIPE.key,
    }
    architecture = fingerprint(model_name)  # '' for the shipped models: their keys are unchanged
    if architecture:
        parts["architecture"] = architecture
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def trained_baseline(
    model_name: str,
    workload: Workload,
    seed: int,
    cache_dir: str | Path,
    recipe: Recipe | None = None,
    progress: bool = True,
) -> Baseline:
    """The baseline of `model_name` on `workload`: from the cache, or trained now and cached."""
    model_spec(model_name)  # unknown names fail before any work
    recipe = recipe or RECIPES.get(model_name, Recipe())
    key = baseline_key(model_name, workload, seed, recipe)
    folder = Path(cache_dir) / "baselines"
    # legacy HDF5 weights: the layers' weights only (the .weights.h5 format adds Adam's state)
    weights, meta_path = folder / f"{key}.h5", folder / f"{key}.json"
    keras.utils.set_random_seed(seed)  # the initial weights are part of what the seed fixes
    model = build_model(model_name, workload.num_classes, workload.input_size)
    cached = load_cached_weights(model, weights, meta_path)
    if cached is not None:
        return Baseline(
            model_name, model, key, "trained", cached["train_seconds"], cached["epochs_run"], True
        )
    label = f"training {model_name} baseline on {workload.name}" if progress else None
    run = fit(
        model,
        workload,
        epochs=recipe.epochs,
        learning_rate=recipe.learning_rate,
        seed=seed,
        batch_size=recipe.batch_size,
        patience=recipe.patience,
        steps_per_epoch=recipe.steps_per_epoch,
        progress=label,
    )
    meta = {
        "model": model_name,
        "workload": workload.name,
        "seed": seed,
        "recipe": asdict(recipe),
        "train_seconds": run.seconds,
        "epochs_run": run.epochs_run,
        "best_val_accuracy": run.best_val_accuracy,
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    save_cached_weights(model, weights, meta_path, meta)
    return Baseline(model_name, model, key, "trained", run.seconds, run.epochs_run, False)


def load_cached_weights(model: Any, weights: Path, meta_path: Path) -> dict[str, Any] | None:
    """Load cached weights into `model` and return their metadata (the baseline's or the
    supernet's, which records `train_seconds`); None if absent or unreadable."""
    if not (weights.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        model.load_weights(weights)
    except (OSError, ValueError, KeyError):  # a damaged cache entry is retrained, not fatal
        return None
    return meta if isinstance(meta, dict) and "train_seconds" in meta else None


def save_cached_weights(
    model: Any, weights: Path, meta_path: Path, meta: Mapping[str, Any]
) -> None:
    """Save weights by cnnpc's one atomic write (the temporary name keeps the .h5 suffix), then
    the metadata that `load_cached_weights` reads back."""
    make_folder(weights.parent)
    write_with(weights, lambda tmp: model.save_weights(str(tmp)))
    write_text(meta_path, json.dumps(meta, indent=1, sort_keys=True), make_parent=True)
