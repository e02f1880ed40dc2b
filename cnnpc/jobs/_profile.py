"""`cnnpc profile` and its subcommands (import, export, device) as library calls.

Measuring imports TensorFlow only inside `cnnpc.profiling`'s measuring functions, after the
record is checked; `profile device` runs on the runtime-only install (LiteRT, no TensorFlow).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnpc.errors import InputError
from cnnpc.jobs._done import Done
from cnnpc.jobs._options import Exclusive, named, nonnegative_int, option, positive_int

DEFAULT_KEEPS = "1,0.75,0.5,0.25,0.125"  # cnnpc.profiling.DEFAULT_KEEPS, as the help shows it
if TYPE_CHECKING:
    from cnnpc.profiles import PowerFigures, RadioPower

_FORMAT_HELP = "TFLite format of edge and cloud parts (int8, as deployed)"
_MODEL_HELP = "model name, e.g. mobilenet or resnet"
_TIERS = ("end", "edge", "cloud")


def _fractions(text: str) -> tuple[float, ...]:
    """Comma-separated keep fractions in (0, 1]."""
    out = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise InputError(f"{part!r} is not a number") from None
        if not math.isfinite(value) or not 0 < value <= 1:
            raise InputError(f"keep fractions must be in (0, 1], got {part!r}")
        out.append(value)
    return tuple(out)


def _tier_scale(text: str) -> dict[str, float]:
    from cnnpc.profiling import parse_tier_scale as check  # not at import: profiling is wide

    return check(text)


def _keeps(what: str) -> Any:
    """--keep-fractions (profile, export): one definition, its help says what they are for."""
    return option(
        "--keep-fractions",
        default=_fractions(DEFAULT_KEEPS),
        type=named(_fractions, "_fractions"),
        metavar="F,F,...",
        help=f"keep fractions to {what} ({DEFAULT_KEEPS})",
    )


def _power(text: str) -> PowerFigures:
    from cnnpc.profiles import parse_power

    return parse_power(text)


def _radio(text: str) -> tuple[str, RadioPower]:
    from cnnpc.profiles import parse_radio

    return parse_radio(text)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True, kw_only=True)
class ProfileJob:
    """What `cnnpc profile` is asked: time MODEL's segments on this machine."""

    model: str | None = option("--model", default=None, help=_MODEL_HELP)
    device: str = option("--device", default="host", help="name of the profile written (host)")
    repeats: int = option("--repeats", default=50, type=positive_int, help="timed samples (50)")
    warmup: int = option("--warmup", default=5, type=nonnegative_int, help="warm-up invokes (5)")
    threads: int = option("--threads", default=1, type=positive_int, help="interpreter threads (1)")
    image_size: int | None = option(
        "--image-size",
        default=None,
        type=positive_int,
        metavar="PX",
        help="input size (default: the model's training size on the embedded workload)",
    )
    keep_fractions: tuple[float, ...] = _keeps("time, applied to every prunable candidate")
    server_format: str = option(
        "--server-format", default="int8", choices=("int8", "float32"), help=_FORMAT_HELP
    )
    out: str | None = option(
        "--out", default=None, metavar="DIR", help="profile root (writes DIR/MODEL/)"
    )
    as_tier: str | None = option(
        "--as-tier",
        default=None,
        choices=_TIERS,
        help="this machine is that tier: measure here, then assemble the tiers with "
        "'cnnpc profile import --end A --edge B --cloud C'",
    )
    progress: bool = False


@dataclass(frozen=True, kw_only=True)
class ProfileImport:
    """What `cnnpc profile import` is asked: times measured elsewhere, one source."""

    model: str = option("--model", help=_MODEL_HELP)
    device: str = option("--device", help="name of the imported end device")
    cnnpc_npy: str | None = option(
        "--cnnpc-npy",
        default=None,
        metavar="PATH",
        exclusive=Exclusive("source"),
        help="T_R.npy, or a folder holding it (TR-<device>/...)",
    )
    csv: str | None = option(
        "--csv",
        default=None,
        metavar="FILE",
        exclusive=Exclusive("source"),
        help="CSV with end_ms, edge_ms, cloud_ms",
    )
    end: str | None = option(
        "--end",
        default=None,
        metavar="DIR",
        exclusive=Exclusive("source"),
        help="profile folder measured on the end device (--as-tier end), or an export timed "
        "there (its results: 'cnnpc profile device' JSON or benchmark_model text)",
    )
    scale_from: str | None = option(
        "--from",
        default=None,
        dest="scale_from",
        metavar="DIR",
        exclusive=Exclusive("source"),
        help="one profile folder (e.g. this host's) scaled per tier by --tier-scale: a stand-in, "
        "labelled as such wherever it is used",
    )
    edge: str | None = option(
        "--edge",
        default=None,
        metavar="DIR",
        help="profile folder or timed export of the edge server",
    )
    cloud: str | None = option(
        "--cloud",
        default=None,
        metavar="DIR",
        help="profile folder or timed export of the cloud server",
    )
    tier_scale: Mapping[str, float] | None = option(
        "--tier-scale",
        default=None,
        type=named(_tier_scale, "parse_tier_scale"),
        metavar="end=F,edge=F,cloud=F",
        help="factor per tier applied to --from's times (e.g. end=8,edge=1,cloud=0.5)",
    )
    out: str | None = option(
        "--out", default=None, metavar="DIR", help="profile root (writes DIR/MODEL/)"
    )
    force: bool = option(
        "--force",
        action="store_true",
        help="replace a profile of --device already in the folder (and its measurements)",
    )
    power: PowerFigures | None = option(
        "--power",
        default=None,
        type=named(_power, "parse_power"),
        metavar="end=compute:W,idle:W",
        help="the end device's power (W) computing and idle while it waits: with no source, "
        "added to the existing profile's figures",
    )
    radio: tuple[tuple[str, RadioPower], ...] | None = option(
        "--radio",
        default=None,
        type=named(_radio, "parse_radio"),
        nargs="+",
        metavar="TECH[=tx:W,rx:W]",
        help="the end device's radio (wifi, lte, 5g) and its power (W) transmitting and "
        "receiving; TECH alone: the shipped figures (wifi, lte; see the README); the first "
        "radio prices plans unless 'plan --radio' says",
    )


@dataclass(frozen=True, kw_only=True)
class ProfileExport:
    """What `cnnpc profile export` is asked: every segment at every width, to time elsewhere."""

    model: str = option("--model", help=_MODEL_HELP)
    out: str = option("--out", metavar="DIR", help="the new export folder")
    image_size: int | None = option(
        "--image-size", default=None, type=positive_int, metavar="PX", help="input size"
    )
    keep_fractions: tuple[float, ...] = _keeps("export")
    tier: str = option("--tier", default="end", choices=_TIERS, help="(end)")
    server_format: str = option(
        "--server-format", default="int8", choices=("int8", "float32"), help=_FORMAT_HELP
    )
    progress: bool = False


@dataclass(frozen=True, kw_only=True)
class ProfileDevice:
    """What `cnnpc profile device` is asked, on the device: time an export with LiteRT."""

    folder: str = option(metavar="DIR", help="the export folder")
    runs: int = option("--runs", default=50, type=positive_int, help="timed runs (50)")
    warmup: int = option("--warmup", default=5, type=nonnegative_int, help="warm-up runs (5)")
    threads: int = option("--threads", default=1, type=positive_int, help="CPU threads (1)")
    progress: bool = False


def _shown(progress: bool) -> Callable[[str], None] | None:
    return _progress if progress else None


def profile(job: ProfileJob) -> Done:
    """Time every segment of the model here and write its profile."""
    if job.model is None:
        raise InputError("--model is required (see 'cnnpc profile --help')")
    from cnnpc.profiling import profile_host, profile_text

    report = profile_host(
        job.model,
        device=job.device,
        image_size=job.image_size,
        repeats=job.repeats,
        warmup=job.warmup,
        threads=job.threads,
        keeps=job.keep_fractions,
        server_format=job.server_format,
        out=job.out,
        progress=_shown(job.progress),
        as_tier=job.as_tier,
    )
    return Done(report, profile_text(report))


def import_times(job: ProfileImport) -> Done:
    """Write a profile from times measured elsewhere, and the power figures given with it;
    without a source, only the power figures of an existing profile."""
    from cnnpc.profiling import import_power, import_profile, import_text, power_text

    given = {"end": job.end, "edge": job.edge, "cloud": job.cloud}
    tiers: dict[str, str | Path] = {t: path for t, path in given.items() if path}
    figures = _figures(job)
    sources = (job.cnnpc_npy, job.csv, job.end, job.scale_from)
    if all(x is None for x in sources):
        if figures is None:
            raise InputError(
                "give one source (--cnnpc-npy, --csv, --end, --from), or --power/--radio to set "
                "an existing profile's power figures"
            )
        if tiers:
            raise InputError("--edge and --cloud go with --end")
        done = import_power(job.model, job.device, figures, out=job.out)
        return Done(done, power_text(done))
    report = import_profile(
        job.model,
        job.device,
        cnnpc_npy=job.cnnpc_npy,
        csv_path=job.csv,
        tiers=tiers or None,
        scale_from=job.scale_from,
        tier_scale=job.tier_scale,
        out=job.out,
        force=job.force,
    )
    if figures is not None:
        report["power"] = import_power(job.model, job.device, figures, out=job.out)["power"]
    return Done(report, import_text(report))


def _figures(job: ProfileImport) -> PowerFigures | None:
    """The power figures `--power` and `--radio` give (None: neither)."""
    if job.power is None and not job.radio:
        return None
    from cnnpc.profiles import PowerFigures

    radios = tuple(job.radio or ())
    if len({name for name, _ in radios}) != len(radios):
        raise InputError("--radio: a radio is given twice")
    base = job.power or PowerFigures()
    return PowerFigures(base.compute_w, base.idle_w, radios)


def export_segments(job: ProfileExport) -> Done:
    """Write every segment at every keep fraction as deployed, with the manifest."""
    from cnnpc.profiling import export_device, export_text

    report = export_device(
        job.model,
        job.out,
        image_size=job.image_size,
        keeps=job.keep_fractions,
        tier=job.tier,
        server_format=job.server_format,
        progress=_shown(job.progress),
    )
    return Done(report, export_text(report))


def time_export(job: ProfileDevice) -> Done:
    """Time every file of an export with LiteRT's benchmark (no TensorFlow)."""
    from cnnpc.profiling import device_text, run_device

    report = run_device(
        job.folder,
        runs=job.runs,
        warmup=job.warmup,
        threads=job.threads,
        progress=_shown(job.progress),
    )
    return Done(report, device_text(report))
