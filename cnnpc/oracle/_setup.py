"""Assemble an oracle from names and paths: the workload, the baseline, the cache."""

from __future__ import annotations

from pathlib import Path

from cnnpc.catalog import saved_model_file
from cnnpc.compression import FinetuneBudget
from cnnpc.models import model_spec
from cnnpc.oracle._baseline import Baseline, trained_baseline
from cnnpc.oracle._cache import DiskCache, MemoryCache, ResultCache, default_cache_dir
from cnnpc.oracle._oracle import AccuracyOracle
from cnnpc.oracle._tuned import ModelStore
from cnnpc.oracle._user import saved_input_size, user_baseline
from cnnpc.spaces import load_space
from cnnpc.workloads import Workload, digits, image_folder


def open_oracle(
    model_name: str,
    *,
    data: str | Path | None = None,
    weights: str | Path | None = None,
    image_size: int | None = None,
    budget: FinetuneBudget | None = None,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: bool = False,
    finetune_progress: bool = False,
) -> AccuracyOracle:
    """An oracle for `model_name` on the digits workload, or on the user's `data` folder.

    Without `weights` the baseline is trained (or read from the cache); with them it is the
    user's model. The input size is `image_size` if given, else that of a saved whole model, else
    the deployment size for the user's data with weights, else the model's training size.
    `progress` draws a bar (stderr) while a baseline trains; `finetune_progress` one per
    fine-tune (leave it off inside another live progress display).
    """
    spec = model_spec(model_name)
    space = load_space(model_name)
    if weights is None and data is not None:
        weights = saved_model_file(model_name)  # an added Keras model brings its own weights
    size = image_size
    if size is None and weights is not None:
        size = saved_input_size(weights)
        if size is None and data is not None:
            size = spec.deploy_size
    if size is None:
        size = spec.train_size
    workload: Workload = digits(size) if data is None else image_folder(data, size)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    baseline: Baseline
    if weights is None:
        baseline = trained_baseline(model_name, workload, seed, root, progress=progress)
    else:
        baseline = user_baseline(model_name, weights, space, workload.num_classes, size)
    cache: ResultCache = DiskCache(root / "results") if use_cache else MemoryCache()
    models = ModelStore(root / "models") if use_cache else None
    return AccuracyOracle(
        baseline, workload, space, budget, seed, cache, finetune_progress, models=models
    )
