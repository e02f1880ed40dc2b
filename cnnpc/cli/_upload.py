"""`cnnpc upload-plan`: the order to upload a model's parts to a new edge server (IONN)."""

from __future__ import annotations

import argparse
import sys

from cnnpc.cli._common import command, print_json, record_from
from cnnpc.jobs import UploadJob


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command(
        sub,
        "upload-plan",
        UploadJob,
        run,
        help="incremental offloading (IONN): which parts of the model to upload to an edge first",
        description="Order the upload of a model's parts to an edge server that does not have it "
        "yet, so that queries issued during the upload get faster as soon as possible (greedy "
        "latency benefit per byte, re-planning the split after each part). Compares with "
        "uploading the whole model first. Tiers: end and edge only, as IONN (--cloud: the cloud "
        "already holds the whole model).",
    )


def run(args: argparse.Namespace) -> int:
    from cnnpc.jobs import plan_upload
    from cnnpc.upload import upload_plan_text

    data = plan_upload(record_from(UploadJob, args))
    if args.json:
        print_json(data)
        return 0
    print(upload_plan_text(data))
    if "png" in data:
        print(f"wrote {data['png']}", file=sys.stderr)
    return 0
