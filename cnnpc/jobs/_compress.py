"""`cnnpc compress` as one library call: prune candidates, fine-tune, before and after."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnpc._text import format_table
from cnnpc.errors import InputError
from cnnpc.spaces import KeepGrid

if TYPE_CHECKING:
    from cnnpc.oracle import AccuracyOracle, OracleResult


@dataclass(frozen=True)
class CompressJob:
    """What `cnnpc compress` is asked. `keep` holds fractions, or channel counts with
    `keep_grid` 'channels'."""

    model: str
    keep: Mapping[str, float]
    keep_grid: KeepGrid | None = None
    epochs: int = 3
    steps: int | None = None
    sparsity: float = 0.0
    seed: int = 0
    data: Path | None = None
    weights: Path | None = None
    image_size: int | None = None
    cache_dir: Path | None = None
    use_cache: bool = True
    progress: bool = False


@dataclass(frozen=True)
class Compressed:
    """The baseline and the pruned model side by side."""

    document: dict[str, Any]
    text: str


def _fractions(job: CompressJob) -> dict[str, float]:
    """The keep as fractions on the space's grid, checked (prunable, ties) before anything
    trains."""
    from cnnpc.records import KeepConfig
    from cnnpc.spaces import load_space

    space = load_space(job.model)
    if job.keep_grid is not None:
        return dict(KeepConfig.on_grid(space.with_keep_grid(job.keep_grid), job.keep).fractions)
    for name, value in job.keep.items():
        if value > 1.0:
            raise InputError(
                f"--keep {name}={value:g}: keep fraction must be in (0, 1] (channel "
                "counts need --keep-grid channels)"
            )
    KeepConfig.from_fractions(space, job.keep)
    return dict(job.keep)


def _check_paths(job: CompressJob) -> None:
    if job.data is not None and not job.data.is_dir():
        problem = "not a folder" if job.data.exists() else "no such folder"
        raise InputError(f"--data {job.data}: {problem}")
    if job.weights is not None and not job.weights.exists():
        raise InputError(f"--weights {job.weights}: no such file")


def _check_cache(root: Path) -> None:
    """The cache folder and the ones the oracle writes in it are folders or can be made: checked
    before a baseline trains (a FIFO or a file there failed only when the training was done)."""
    from cnnpc._files import check_files_in

    for folder in (root, root / "baselines", root / "results", root / "models"):
        check_files_in(folder, ())


def compress(job: CompressJob) -> Compressed:
    """Fine-tune the pruned model (cached) and compare it with the baseline."""
    keep = _fractions(job)
    _check_paths(job)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from cnnpc.compression import FinetuneBudget
    from cnnpc.oracle import default_cache_dir, open_oracle

    _check_cache(job.cache_dir if job.cache_dir is not None else default_cache_dir())
    budget = FinetuneBudget(epochs=job.epochs, steps_per_epoch=job.steps, sparsity=job.sparsity)
    oracle = open_oracle(
        job.model,
        data=job.data,
        weights=job.weights,
        image_size=job.image_size,
        budget=budget,
        seed=job.seed,
        cache_dir=job.cache_dir,
        use_cache=job.use_cache,
        progress=job.progress,
        finetune_progress=job.progress,
    )
    before = oracle.baseline_result()
    after = oracle.evaluate(keep)
    return Compressed(
        _report(oracle, job.model, keep, before, after),
        _text(oracle, job.model, keep, before, after),
    )


def _side(result: OracleResult) -> dict[str, Any]:
    return {
        "accuracy": result.test_accuracy,
        "val_accuracy": result.val_accuracy,
        "params": result.params,
        "flops": result.flops,
        "candidates": [
            {"name": c.name, "channels": c.channels, "bytes": c.bytes} for c in result.candidates
        ],
    }


def _report(
    oracle: AccuracyOracle,
    model: str,
    keep: Mapping[str, float],
    before: OracleResult,
    after: OracleResult,
) -> dict[str, Any]:
    return {
        "model": model,
        "workload": oracle.workload.name,
        "keep": dict(keep),
        "accuracy_split": "test",
        "train_input_size": oracle.workload.input_size,
        "deploy_input_size": oracle.deploy_size,
        "bytes_per_element": 1,
        "baseline": _side(before),
        "pruned": _side(after),
        "finetune_seconds": after.finetune_seconds,
        "from_cache": after.from_cache,
        "budget": oracle.budget.as_dict(),
        "seed": oracle.seed,
    }


def _text(
    oracle: AccuracyOracle,
    model: str,
    keep: Mapping[str, float],
    before: OracleResult,
    after: OracleResult,
) -> str:
    kept = ", ".join(f"{k}={v:g}" for k, v in keep.items())
    size = oracle.workload.input_size
    cached = " (fine-tune result from the cache)" if after.from_cache else ""
    head = (
        f"{model} on {oracle.workload.name} ({size}x{size} input), keep {kept}{cached}\n"
        "Accuracy on the test split (search decisions use the validation split); FLOPs and bytes "
        f"at {oracle.deploy_size}x{oracle.deploy_size} input, 1 byte per element (int8)."
    )
    summary = format_table(
        ["", "baseline (float)", "pruned (int8 QAT)"],
        [
            ["accuracy, test split (%)", 100 * before.test_accuracy, 100 * after.test_accuracy],
            ["accuracy, val split (%)", 100 * before.val_accuracy, 100 * after.val_accuracy],
            ["params", before.params, after.params],
            ["MFLOPs", before.flops / 1e6, after.flops / 1e6],
            ["fine-tune time (s)", None, after.finetune_seconds],
        ],
    )
    tensors = format_table(
        ["candidate", "channels", "pruned", "bytes", "pruned bytes"],
        [
            [b.name, b.channels, a.channels, b.bytes, a.bytes]
            for b, a in zip(before.candidates, after.candidates, strict=True)
        ],
    )
    return f"{head}\n\n{summary}\n\n{tensors}"
