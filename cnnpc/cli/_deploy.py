"""`cnnpc deploy SEARCH --out DIR`: the best plan's parts (int8 TFLite) and plan.json."""

from __future__ import annotations

import argparse
import sys

from cnnpc.cli._common import command, output, record_from
from cnnpc.jobs import DeployJob


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command(
        sub,
        "deploy",
        DeployJob,
        run,
        json_help="print plan.json (planset.json)",
        help="write a search's best plan as TFLite parts and plan.json",
        description="Cut the fine-tuned model of a search's best plan at its splits: one int8 "
        "TFLite model per tier, and plan.json with every link's tensor (shape, dtype, "
        "quantisation, bytes, bandwidth) and the predicted latency. The folder is written at "
        "once: on an error nothing is left.",
    )


def run(args: argparse.Namespace) -> int:
    from cnnpc.jobs import deploy

    done = deploy(record_from(DeployJob, args, progress=sys.stderr.isatty()))
    return output(args.json, done.document, lambda: done.text)
