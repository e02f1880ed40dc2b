"""`cnnpc profile` (time a model's segments on this machine) and `cnnpc profile import`.

TensorFlow is imported only inside the measuring command, after the arguments are checked.
"""

from __future__ import annotations

import argparse
import math
import sys

from cnnpc.cli._common import library_type, nonnegative_int, output, positive_int
from cnnpc.errors import InputError
from cnnpc.profiling import parse_tier_scale

_DEFAULT_KEEPS = "1,0.75,0.5,0.25,0.125"  # cnnpc.profiling.DEFAULT_KEEPS


def _fractions(text: str) -> tuple[float, ...]:
    """argparse type: comma-separated keep fractions in (0, 1]."""
    out = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r} is not a number") from None
        if not math.isfinite(value) or not 0 < value <= 1:
            raise argparse.ArgumentTypeError(f"keep fractions must be in (0, 1], got {part!r}")
        out.append(value)
    return tuple(out)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "profile",
        help="time a model's segments on this machine (or import tables measured elsewhere)",
        description="Time every segment of MODEL (cut at its split candidates) as a TFLite model "
        "on this machine, at several keep fractions: int8 for the end tier, --server-format for "
        "edge and cloud, one interpreter thread, warm-up runs then the median of --repeats. "
        "Writes a profile that 'cnnpc plan --device DEVICE' reads (default folder "
        "$CNNPC_PROFILES or ./results/profiles) and reports the cost regressor's error on "
        "held-out keep fractions. 'cnnpc profile import' reads tables measured elsewhere.",
    )
    p.add_argument("--model", help="model name, e.g. mobilenet or resnet")
    p.add_argument("--device", default="host", help="name of the profile written (host)")
    p.add_argument("--repeats", type=positive_int, default=50, help="timed samples (50)")
    p.add_argument("--warmup", type=nonnegative_int, default=5, help="warm-up invokes (5)")
    p.add_argument("--threads", type=positive_int, default=1, help="interpreter threads (1)")
    p.add_argument(
        "--image-size",
        type=positive_int,
        metavar="PX",
        help="input size (default: the model's training size on the embedded workload)",
    )
    p.add_argument(
        "--keep-fractions",
        type=_fractions,
        default=_fractions(_DEFAULT_KEEPS),
        metavar="F,F,...",
        help=f"keep fractions to time, applied to every prunable candidate ({_DEFAULT_KEEPS})",
    )
    p.add_argument(
        "--server-format",
        choices=("int8", "float32"),
        default="int8",
        help="TFLite format of edge and cloud parts (int8, as deployed)",
    )
    p.add_argument("--out", metavar="DIR", help="profile root (writes DIR/MODEL/)")
    p.add_argument(
        "--as-tier",
        choices=("end", "edge", "cloud"),
        help="this machine is that tier: measure here, then assemble the tiers with "
        "'cnnpc profile import --end A --edge B --cloud C'",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_profile)

    sub2 = p.add_subparsers(dest="profile_command", metavar="SUBCOMMAND")
    q = sub2.add_parser(
        "import",
        help="import per-segment times measured elsewhere (CNNPC .npy or CSV)",
        description="Read per-segment end/edge/cloud ms measured elsewhere — CNNPC's T_R.npy "
        "(rows = segments, columns end, edge, cloud) or a CSV with end_ms, edge_ms, cloud_ms — "
        "validate it against the model's search space and write DEVICE.csv into the user "
        "profile folder with the shipped tensors and meta.",
    )
    q.add_argument("--model", required=True, help="model name, e.g. mobilenet or resnet")
    q.add_argument("--device", required=True, help="name of the imported end device")
    src = q.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--cnnpc-npy", metavar="PATH", help="T_R.npy, or a folder holding it (TR-<device>/...)"
    )
    src.add_argument("--csv", metavar="FILE", help="CSV with end_ms, edge_ms, cloud_ms")
    src.add_argument(
        "--end",
        metavar="DIR",
        help="profile folder measured on the end device (--as-tier end), or an export timed "
        "there (its results: 'cnnpc profile device' JSON or benchmark_model text)",
    )
    src.add_argument(
        "--from",
        dest="scale_from",
        metavar="DIR",
        help="one profile folder (e.g. this host's) scaled per tier by --tier-scale: a stand-in, "
        "labelled as such wherever it is used",
    )
    q.add_argument(
        "--edge", metavar="DIR", help="profile folder or timed export of the edge server"
    )
    q.add_argument(
        "--cloud", metavar="DIR", help="profile folder or timed export of the cloud server"
    )
    q.add_argument(
        "--tier-scale",
        type=library_type(parse_tier_scale),
        metavar="end=F,edge=F,cloud=F",
        help="factor per tier applied to --from's times (e.g. end=8,edge=1,cloud=0.5)",
    )
    q.add_argument("--out", metavar="DIR", help="profile root (writes DIR/MODEL/)")
    q.add_argument(
        "--force",
        action="store_true",
        help="replace a profile of --device already in the folder (and its measurements)",
    )
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=run_import)
    _register_device(sub2)


def _register_device(sub2: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    e = sub2.add_parser(
        "export",
        help="write every segment at every width as deployed, to time on a device",
        description="Write MODEL's segments at every keep fraction as deployed TFLite files "
        "(int8 for the end tier, --server-format for edge and cloud), a manifest.json (segment, "
        "keep, channels, shapes, bytes, sha256) and a README.txt with the commands for the "
        "device: 'cnnpc profile device DIR' on a board with pip, adb and the C++ "
        "benchmark_model on Android. DIR must not exist.",
    )
    e.add_argument("--model", required=True, help="model name, e.g. mobilenet or resnet")
    e.add_argument("--out", required=True, metavar="DIR", help="the new export folder")
    e.add_argument("--image-size", type=positive_int, metavar="PX", help="input size")
    e.add_argument(
        "--keep-fractions",
        type=_fractions,
        default=_fractions(_DEFAULT_KEEPS),
        metavar="F,F,...",
        help=f"keep fractions to export ({_DEFAULT_KEEPS})",
    )
    e.add_argument("--tier", choices=("end", "edge", "cloud"), default="end", help="(end)")
    e.add_argument(
        "--server-format",
        choices=("int8", "float32"),
        default="int8",
        help="TFLite format of edge and cloud parts (int8, as deployed)",
    )
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=run_export)
    d = sub2.add_parser(
        "device",
        help="on the device: time an export with LiteRT's benchmark (no TensorFlow)",
        description="Run LiteRT's benchmark (ai_edge_litert.tools.benchmark_litert_model) on "
        "every file of DIR (written by 'cnnpc profile export'), after checking its sha256, and "
        "write DIR/results/: one JSON per file and summary.json. Each timed run is enough "
        "back-to-back invokes to last about 1 ms (the tool rounds to 0.01 ms); times are per "
        "invoke.",
    )
    d.add_argument("folder", metavar="DIR", help="the export folder")
    d.add_argument("--runs", type=positive_int, default=50, help="timed runs (50)")
    d.add_argument("--warmup", type=nonnegative_int, default=5, help="warm-up runs (5)")
    d.add_argument("--threads", type=positive_int, default=1, help="CPU threads (1)")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.set_defaults(func=run_device)


def run_profile(args: argparse.Namespace) -> int:
    if args.model is None:
        raise InputError("--model is required (see 'cnnpc profile --help')")
    from cnnpc.profiling import profile_host, profile_text

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    report = profile_host(
        args.model,
        device=args.device,
        image_size=args.image_size,
        repeats=args.repeats,
        warmup=args.warmup,
        threads=args.threads,
        keeps=args.keep_fractions,
        server_format=args.server_format,
        out=args.out,
        progress=None if args.json else progress,
        as_tier=args.as_tier,
    )
    return output(args.json, report, lambda: profile_text(report))


def run_import(args: argparse.Namespace) -> int:
    from cnnpc.profiling import import_profile, import_text

    tiers = {t: getattr(args, t) for t in ("end", "edge", "cloud") if getattr(args, t)}
    report = import_profile(
        args.model,
        args.device,
        cnnpc_npy=args.cnnpc_npy,
        csv_path=args.csv,
        tiers=tiers or None,
        scale_from=args.scale_from,
        tier_scale=args.tier_scale,
        out=args.out,
        force=args.force,
    )
    return output(args.json, report, lambda: import_text(report))


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_export(args: argparse.Namespace) -> int:
    from cnnpc.profiling import export_device, export_text

    report = export_device(
        args.model,
        args.out,
        image_size=args.image_size,
        keeps=args.keep_fractions,
        tier=args.tier,
        server_format=args.server_format,
        progress=None if args.json else _progress,
    )
    return output(args.json, report, lambda: export_text(report))


def run_device(args: argparse.Namespace) -> int:
    from cnnpc.profiling import device_text
    from cnnpc.profiling import run_device as time_export

    report = time_export(
        args.folder,
        runs=args.runs,
        warmup=args.warmup,
        threads=args.threads,
        progress=None if args.json else _progress,
    )
    return output(args.json, report, lambda: device_text(report))
