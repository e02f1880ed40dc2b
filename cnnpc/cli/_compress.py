"""`cnnpc compress`: prune candidates of a model, fine-tune it, and show before and after.

TensorFlow is imported inside `run`, after the arguments are checked, so `cnnpc --help` stays
fast and bad input fails in a fraction of a second.
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnpc.cli._common import (
    MAX_EPOCHS,
    MAX_IMAGE_SIZE,
    TRUST_CODE_HELP,
    add_keep_grid_argument,
    bounded_float,
    epochs_int,
    format_table,
    image_size_int,
    library_type,
    print_json,
    seed_int,
    steps_int,
)
from cnnpc.errors import InputError
from cnnpc.records import parse_keep_values

if TYPE_CHECKING:
    from cnnpc.oracle import AccuracyOracle, OracleResult


_sparsity = bounded_float(0.0, 1.0, open_high=True, name="sparsity")  # a fraction in [0, 1)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "compress",
        help="prune candidates of a model, fine-tune it (int8 QAT), show before and after",
        description=(
            "Prune channels at split candidates by model surgery, fine-tune with quantization-"
            "aware training, and print accuracy, params, FLOPs and the tensor at every candidate "
            "before and after. Accuracy is on the test split; sizes are at the input size the "
            "model's profiles price (224x224 for the shipped models), 1 byte per element. "
            "Baselines and fine-tune results are cached."
        ),
    )
    parser.add_argument("--model", required=True, help="model name, e.g. mobilenet or resnet")
    parser.add_argument(
        "--keep",
        required=True,
        type=library_type(partial(parse_keep_values, counts=True)),
        metavar="NAME=FRACTION[,...]",
        help="fraction of channels each candidate keeps, in (0, 1]; others keep all "
        "(with --keep-grid channels: NAME=COUNT, the channels it keeps)",
    )
    add_keep_grid_argument(parser)
    parser.add_argument(
        "--epochs",
        type=epochs_int,
        default=3,
        help=f"fine-tune epochs (3; at most {MAX_EPOCHS:,})",
    )
    parser.add_argument(
        "--steps",
        type=steps_int,
        default=None,
        help="cap on fine-tune steps per epoch (at most 1,000,000)",
    )
    parser.add_argument(
        "--sparsity",
        type=_sparsity,
        default=0.0,
        help="extra gradual magnitude sparsity during fine-tuning, in [0, 1) (0: off)",
    )
    parser.add_argument("--seed", type=seed_int, default=0, help="training seed (0)")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="your own images, one sub-folder per class (default: the embedded digits data)",
    )
    parser.add_argument(
        "--weights",
        type=Path,
        default=None,
        metavar="FILE",
        help="your trained model (.keras/.h5) or weights (.weights.h5) for it (default: train "
        "a baseline on first use); models take RGB images scaled to [0, 1]",
    )
    parser.add_argument("--trust-code", action="store_true", help=TRUST_CODE_HELP)
    parser.add_argument(
        "--image-size",
        type=image_size_int,
        default=None,
        metavar="N",
        help=f"input size for --data, 8 to {MAX_IMAGE_SIZE} (default: the saved model's, else 224)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="cache folder (default: $CNNPC_CACHE_DIR, else ~/.cache/cnnpc)",
    )
    parser.add_argument("--no-cache", action="store_true", help="do not reuse fine-tune results")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(func=run)


def _check_paths(args: argparse.Namespace) -> None:
    if args.data is not None and not args.data.is_dir():
        problem = "not a folder" if args.data.exists() else "no such folder"
        raise InputError(f"--data {args.data}: {problem}")
    if args.weights is not None and not args.weights.exists():
        raise InputError(f"--weights {args.weights}: no such file")


def _check_cache(root: Path) -> None:
    """The cache folder and the ones the oracle writes in it are folders or can be made: checked
    before a baseline trains (a FIFO or a file there failed only when the training was done)."""
    from cnnpc._files import check_files_in

    for folder in (root, root / "baselines", root / "results", root / "models"):
        check_files_in(folder, ())


def run(args: argparse.Namespace) -> int:
    from cnnpc.records import KeepConfig
    from cnnpc.spaces import load_space

    space = load_space(args.model)
    if args.keep_grid is not None:
        args.keep = KeepConfig.on_grid(space.with_keep_grid(args.keep_grid), args.keep).fractions
    else:
        for name, value in args.keep.items():
            if value > 1.0:
                raise InputError(
                    f"--keep {name}={value:g}: keep fraction must be in (0, 1] (channel "
                    "counts need --keep-grid channels)"
                )
        KeepConfig.from_fractions(space, args.keep)  # prunable, ties: checked before training
    _check_paths(args)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from cnnpc.compression import FinetuneBudget
    from cnnpc.oracle import default_cache_dir, open_oracle

    _check_cache(args.cache_dir if args.cache_dir is not None else default_cache_dir())
    budget = FinetuneBudget(epochs=args.epochs, steps_per_epoch=args.steps, sparsity=args.sparsity)
    oracle = open_oracle(
        args.model,
        data=args.data,
        weights=args.weights,
        image_size=args.image_size,
        budget=budget,
        seed=args.seed,
        cache_dir=args.cache_dir,
        use_cache=not args.no_cache,
        progress=sys.stderr.isatty(),
        finetune_progress=sys.stderr.isatty(),
    )
    before = oracle.baseline_result()
    after = oracle.evaluate(args.keep)
    if args.json:
        print_json(_report(oracle, args, before, after))
    else:
        print(_text(oracle, args, before, after))
    return 0


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
    oracle: AccuracyOracle, args: argparse.Namespace, before: OracleResult, after: OracleResult
) -> dict[str, Any]:
    return {
        "model": args.model,
        "workload": oracle.workload.name,
        "keep": dict(args.keep),
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
    oracle: AccuracyOracle, args: argparse.Namespace, before: OracleResult, after: OracleResult
) -> str:
    keep = ", ".join(f"{k}={v:g}" for k, v in args.keep.items())
    size = oracle.workload.input_size
    cached = " (fine-tune result from the cache)" if after.from_cache else ""
    head = (
        f"{args.model} on {oracle.workload.name} ({size}x{size} input), keep {keep}{cached}\n"
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
