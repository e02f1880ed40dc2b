"""`cnnpc profile` (time a model's segments here) and `profile import|export|device`.

TensorFlow is imported only inside the measuring jobs, after the arguments are checked.
"""

from __future__ import annotations

import argparse

from cnnpc.cli._common import command, output, record_from
from cnnpc.jobs import ProfileDevice, ProfileExport, ProfileImport, ProfileJob


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = command(
        sub,
        "profile",
        ProfileJob,
        run_profile,
        help="time a model's segments on this machine (or import tables measured elsewhere)",
        description="Time every segment of MODEL (cut at its split candidates) as a TFLite model "
        "on this machine, at several keep fractions: int8 for the end tier, --server-format for "
        "edge and cloud, one interpreter thread, warm-up runs then the median of --repeats. "
        "Writes a profile that 'cnnpc plan --device DEVICE' reads (default folder "
        "$CNNPC_PROFILES or ./results/profiles) and reports the cost regressor's error on "
        "held-out keep fractions. 'cnnpc profile import' reads tables measured elsewhere.",
    )
    sub2 = p.add_subparsers(dest="profile_command", metavar="SUBCOMMAND")
    command(
        sub2,
        "import",
        ProfileImport,
        run_import,
        help="import per-segment times measured elsewhere (CNNPC .npy or CSV)",
        description="Read per-segment end/edge/cloud ms measured elsewhere — CNNPC's T_R.npy "
        "(rows = segments, columns end, edge, cloud) or a CSV with end_ms, edge_ms, cloud_ms — "
        "validate it against the model's search space and write DEVICE.csv into the user "
        "profile folder with the shipped tensors and meta.",
    )
    command(
        sub2,
        "export",
        ProfileExport,
        run_export,
        help="write every segment at every width as deployed, to time on a device",
        description="Write MODEL's segments at every keep fraction as deployed TFLite files "
        "(int8 for the end tier, --server-format for edge and cloud), a manifest.json (segment, "
        "keep, channels, shapes, bytes, sha256) and a README.txt with the commands for the "
        "device: 'cnnpc profile device DIR' on a board with pip, adb and the C++ "
        "benchmark_model on Android. DIR must not exist.",
    )
    command(
        sub2,
        "device",
        ProfileDevice,
        run_device,
        help="on the device: time an export with LiteRT's benchmark (no TensorFlow)",
        description="Run LiteRT's benchmark (ai_edge_litert.tools.benchmark_litert_model) on "
        "every file of DIR (written by 'cnnpc profile export'), after checking its sha256, and "
        "write DIR/results/: one JSON per file and summary.json. Each timed run is enough "
        "back-to-back invokes to last about 1 ms (the tool rounds to 0.01 ms); times are per "
        "invoke.",
    )


def run_profile(args: argparse.Namespace) -> int:
    from cnnpc.jobs import profile

    done = profile(record_from(ProfileJob, args, progress=not args.json))
    return output(args.json, done.document, lambda: done.text)


def run_import(args: argparse.Namespace) -> int:
    from cnnpc.jobs import import_times

    done = import_times(record_from(ProfileImport, args))
    return output(args.json, done.document, lambda: done.text)


def run_export(args: argparse.Namespace) -> int:
    from cnnpc.jobs import export_segments

    done = export_segments(record_from(ProfileExport, args, progress=not args.json))
    return output(args.json, done.document, lambda: done.text)


def run_device(args: argparse.Namespace) -> int:
    from cnnpc.jobs import time_export

    done = time_export(record_from(ProfileDevice, args, progress=not args.json))
    return output(args.json, done.document, lambda: done.text)
