"""`cnnpc compress`: prune candidates of a model, fine-tune it, and show before and after.

TensorFlow is imported inside `run`, after the arguments are checked, so `cnnpc --help` stays
fast and bad input fails in a fraction of a second.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from cnnpc.cli._common import (
    TRUST_CODE_HELP,
    add_keep_grid_argument,
    bounded_float,
    epochs_int,
    image_size_int,
    library_type,
    output,
    seed_int,
    steps_int,
)
from cnnpc.records import MAX_EPOCHS, MAX_IMAGE_SIZE, parse_keep_values

if TYPE_CHECKING:
    pass


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
        "--epochs", type=epochs_int, default=3, help=f"fine-tune epochs (3; at most {MAX_EPOCHS:,})"
    )
    parser.add_argument(
        "--steps", type=steps_int, help="cap on fine-tune steps per epoch (at most 1,000,000)"
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
        metavar="DIR",
        help="your own images, one sub-folder per class (default: the embedded digits data)",
    )
    parser.add_argument(
        "--weights",
        type=Path,
        metavar="FILE",
        help="your trained model (.keras/.h5) or weights (.weights.h5) for it (default: train "
        "a baseline on first use); models take RGB images scaled to [0, 1]",
    )
    parser.add_argument("--trust-code", action="store_true", help=TRUST_CODE_HELP)
    parser.add_argument(
        "--image-size",
        type=image_size_int,
        metavar="N",
        help=f"input size for --data, 8 to {MAX_IMAGE_SIZE} (default: the saved model's, else 224)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="cache folder (default: $CNNPC_CACHE_DIR, else ~/.cache/cnnpc)",
    )
    parser.add_argument("--no-cache", action="store_true", help="do not reuse fine-tune results")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cnnpc.jobs import CompressJob, compress

    done = compress(
        CompressJob(
            *(args.model, args.keep, args.keep_grid, args.epochs, args.steps, args.sparsity),
            *(args.seed, args.data, args.weights, args.image_size, args.cache_dir),
            use_cache=not args.no_cache,
            progress=sys.stderr.isatty(),
        )
    )
    return output(args.json, done.document, lambda: done.text)
