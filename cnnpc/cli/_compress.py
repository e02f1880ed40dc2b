"""`cnnpc compress`: prune candidates of a model, fine-tune it, and show before and after.

TensorFlow is imported inside `run`, after the arguments are checked, so `cnnpc --help` stays
fast and bad input fails in a fraction of a second.
"""

from __future__ import annotations

import argparse
import sys

from cnnpc.cli._common import command, output, record_from
from cnnpc.jobs import CompressJob


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command(
        sub,
        "compress",
        CompressJob,
        run,
        json_help="print JSON instead of tables",
        help="prune candidates of a model, fine-tune it (int8 QAT), show before and after",
        description=(
            "Prune channels at split candidates by model surgery, fine-tune with quantization-"
            "aware training, and print accuracy, params, FLOPs and the tensor at every candidate "
            "before and after. Accuracy is on the test split; sizes are at the input size the "
            "model's profiles price (224x224 for the shipped models), 1 byte per element. "
            "Baselines and fine-tune results are cached."
        ),
    )


def run(args: argparse.Namespace) -> int:
    from cnnpc.jobs import compress

    done = compress(record_from(CompressJob, args, progress=sys.stderr.isatty()))
    return output(args.json, done.document, lambda: done.text)
