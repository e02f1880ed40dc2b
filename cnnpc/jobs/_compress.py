"""`cnnpc compress` as one library call: prune candidates, fine-tune, before and after."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnpc._text import format_table
from cnnpc.errors import InputError
from cnnpc.jobs._done import Done
from cnnpc.jobs._options import (
    TRUST_CODE_HELP,
    bounded_float,
    epochs_int,
    image_size_int,
    keep_grid_option,
    named,
    option,
    seed_int,
    steps_int,
    trust,
)
from cnnpc.records import MAX_EPOCHS, MAX_IMAGE_SIZE, parse_keep_values
from cnnpc.spaces import KeepGrid

if TYPE_CHECKING:
    from cnnpc.oracle import AccuracyOracle, OracleResult


@dataclass(frozen=True, kw_only=True)
class CompressJob:
    """What `cnnpc compress` is asked. `keep` holds fractions, or channel counts with
    `keep_grid` 'channels'."""

    model: str = option("--model", help="model name, e.g. mobilenet or resnet")
    keep: Mapping[str, float] = option(
        "--keep",
        type=named(lambda text: parse_keep_values(text, counts=True), "value"),
        metavar="NAME=FRACTION[,...]",
        help="fraction of channels each candidate keeps, in (0, 1]; others keep all "
        "(with --keep-grid channels: NAME=COUNT, the channels it keeps)",
    )
    keep_grid: KeepGrid | None = keep_grid_option()
    epochs: int = option(
        "--epochs", default=3, type=epochs_int, help=f"fine-tune epochs (3; at most {MAX_EPOCHS:,})"
    )
    steps: int | None = option(
        "--steps",
        default=None,
        type=steps_int,
        help="cap on fine-tune steps per epoch (at most 1,000,000)",
    )
    sparsity: float = option(
        "--sparsity",
        default=0.0,
        type=bounded_float(0.0, 1.0, open_high=True, name="sparsity"),  # a fraction in [0, 1)
        help="extra gradual magnitude sparsity during fine-tuning, in [0, 1) (0: off)",
    )
    seed: int = option("--seed", default=0, type=seed_int, help="training seed (0)")
    data: Path | None = option(
        "--data",
        default=None,
        type=Path,
        metavar="DIR",
        help="your own images, one sub-folder per class (default: the embedded digits data)",
    )
    weights: Path | None = option(
        "--weights",
        default=None,
        type=Path,
        metavar="FILE",
        help="your trained model (.keras/.h5) or weights (.weights.h5) for it (default: train "
        "a baseline on first use); models take RGB images scaled to [0, 1]",
    )
    trust_code: bool = option("--trust-code", action="store_true", help=TRUST_CODE_HELP)
    image_size: int | None = option(
        "--image-size",
        default=None,
        type=image_size_int,
        metavar="N",
        help=f"input size for --data, 8 to {MAX_IMAGE_SIZE} (default: the saved model's, else 224)",
    )
    cache_dir: Path | None = option(
        "--cache-dir",
        default=None,
        type=Path,
        metavar="DIR",
        help="cache folder (default: $CNNPC_CACHE_DIR, else ~/.cache/cnnpc)",
    )
    use_cache: bool = option(
        "--no-cache", action="store_true", negate=True, help="do not reuse fine-tune results"
    )
    progress: bool = False


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


def compress(job: CompressJob) -> Done:
    """Fine-tune the pruned model (cached) and compare it with the baseline."""
    trust(job.trust_code, job.weights)
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
    return Done(
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
