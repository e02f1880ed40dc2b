"""`cnnpc sweep` as one library call: the sweep, its accuracy source and storage, its files."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnpc._files import check_file_targets
from cnnpc._text import format_table
from cnnpc.codec import MAX_BITS
from cnnpc.errors import InputError
from cnnpc.jobs._links import AccuracyChoice, LinkChoice, device_option, model_option
from cnnpc.jobs._options import (
    SEARCHED,
    accuracy_floor,
    bits_option,
    bounded_int,
    budget_ms,
    entropy_option,
    fps_option,
    objective_option,
    option,
    options,
    radio_option,
)
from cnnpc.jobs._search import check_coded_source, measured_codecs
from cnnpc.planner import OBJECTIVES
from cnnpc.records import DEFAULT_MAX_FINETUNES, MAX_FINETUNES

if TYPE_CHECKING:  # the stages load SQLAlchemy: `cnnpc plan` imports this package without it
    from cnnpc.accuracy import AccuracySpec
    from cnnpc.sweep import SweepSettings

SWEEP_OBJECTIVES = OBJECTIVES
"""latency, energy, throughput (pareto is a search's: `cnnpc search --objective pareto`)."""
SUPERNET_ESTIMATES = 1_000_000
"""No cap on supernet estimates (seconds each): every point's walk gets the ones it needs."""


@dataclass(frozen=True)
class SweepJob:
    """What `cnnpc sweep` is asked: the sweep, where accuracies come from, where to store/write."""

    settings: SweepSettings
    accuracy: AccuracySpec
    storage_url: str | None = None
    png: Path | None = None
    xlsx: Path | None = None


def _grid(text: str) -> tuple[float, ...]:
    from cnnpc.sweep import parse_bandwidths

    return parse_bandwidths(text)


@dataclass(frozen=True, kw_only=True)
class SweepRequest:
    """What `cnnpc sweep` is asked, one field per option; `job()` builds the stage records
    (SweepSettings, AccuracySpec) from it, in this one place."""

    model: str = model_option()
    device: str = device_option()
    bandwidth: tuple[float, ...] = option(
        "--bandwidth",
        type=_grid,
        metavar="MBPS",
        help="edge->cloud grid: START:STOP:STEP (inclusive) or a comma list",
    )
    links: LinkChoice = options(LinkChoice)
    acc_floor: float = option(
        "--acc-floor", type=accuracy_floor, metavar="A0", help="val accuracy >= A0"
    )
    max_finetunes: int = option(
        "--max-finetunes",
        default=DEFAULT_MAX_FINETUNES,
        type=bounded_int(0, MAX_FINETUNES, name="fine-tunes"),
        metavar="N",
        help=f"fine-tunes the sweep may spend ({DEFAULT_MAX_FINETUNES}; 0: only what is "
        "measured, unmeasured faster candidates are reported as unverified)",
    )
    surrogate: bool = option(
        "--no-surrogate",
        action="store_true",
        negate=True,
        help="never rule a candidate out by the accuracy surrogate",
    )
    measure: AccuracyChoice = options(AccuracyChoice)
    png: Path | None = option("--png", default=None, type=Path, metavar="FILE", help="write a plot")
    xlsx: Path | None = option(
        "--xlsx", default=None, type=Path, metavar="FILE", help="write a workbook"
    )
    objective: str = objective_option(
        SWEEP_OBJECTIVES,
        "what each configuration's plan minimises, and the best plan at each bandwidth with "
        "it: latency (default), the phone's energy (needs the profile's power figures: "
        "'cnnpc profile import --power') or the slowest pipeline stage (throughput)",
    )
    latency_budget: float | None = option(
        "--latency-budget",
        default=None,
        type=budget_ms,
        metavar="MS",
        help="with --objective energy or throughput: every plan meets this latency",
    )
    fps: float | None = fps_option()
    radio: str | None = radio_option()
    bits: tuple[int, ...] | None = bits_option(SEARCHED)
    entropy: str | None = entropy_option(measured=True)

    def job(self) -> SweepJob:
        """The sweep, its accuracy source, its database and files."""
        from cnnpc.search import SearchObjective
        from cnnpc.sweep import SweepSettings, parse_devices

        if self.latency_budget is not None and self.objective == "latency":
            raise InputError(
                "--latency-budget bounds the plans of --objective energy or throughput; the "
                "fastest plan needs no bound"
            )
        goal = SearchObjective(self.objective, self.latency_budget, self.fps, self.radio)

        spec = self.measure.spec(self.model)
        settings = SweepSettings(
            model=self.model,
            devices=parse_devices(self.device),
            bandwidths=self.bandwidth,
            acc_floor=self.acc_floor,
            links=self.links.link_options(),
            max_finetunes=max_measurements(spec, self.max_finetunes),
            surrogate=self.surrogate,
            keep_grid=self.measure.keep_grid,
            objective=goal,
            bits=self.bits or (MAX_BITS,),
            entropy=self.entropy or "none",
        )
        if settings.coded:
            check_coded_source(spec, settings.entropy, "sweep")
        return SweepJob(settings, spec, self.measure.storage, self.png, self.xlsx)


def max_measurements(spec: AccuracySpec, max_finetunes: int) -> int:
    """A table is never tuned; supernet estimates take seconds, so every bandwidth gets them."""
    if spec.kind == "table":
        return 0
    return SUPERNET_ESTIMATES if spec.kind == "supernet" else max_finetunes


def sweep(job: SweepJob) -> dict[str, Any]:
    """Run the sweep; its report (the JSON of `cnnpc sweep --json`)."""
    from cnnpc.storage import display_url, open_around, resolve_url
    from cnnpc.sweep import plot_sweep, run_sweep, write_sweep_xlsx

    settings, spec = job.settings, job.accuracy
    for device in settings.devices:  # validate names before anything heavy starts
        settings.planner(device, settings.bandwidths[0])
    check_file_targets(p for p in (job.png, job.xlsx) if p is not None)
    checked = spec.check(whole_table=True)
    # loading --weights and training may refuse: no new database is left behind then
    storage, source = open_around(resolve_url(job.storage_url), lambda: spec.open(checked))
    if checked is not None:  # a table: its rows are the measurements, nothing is tuned
        from cnnpc.accuracy import preload

        preload(storage, checked)
    if settings.coded:  # the codec's ratio and time per candidate and width, on the baseline
        names = settings.planner(settings.devices[0], settings.bandwidths[0]).profile.space.names
        measures = measured_codecs(source, settings.searched_bits, settings.entropy, names)
        settings = dataclasses.replace(settings, codec_measures=measures)
    result = run_sweep(settings, source, storage)
    report = result.as_dict() | {"storage": display_url(storage.url)}
    if checked is not None:
        report["accuracy_table"] = {"file": checked.table.path, "rows": len(checked.table.rows)}
    if spec.kind == "supernet":
        from cnnpc.accuracy import supernet_use

        report["supernet"] = supernet_use(source)
    if job.png is not None:
        report["png"] = str(plot_sweep(result, job.png))
    if job.xlsx is not None:
        report["xlsx"] = str(write_sweep_xlsx(result, job.xlsx))
    return report


def _keep(config_key: str) -> str:
    return "no pruning" if config_key == "baseline" else config_key


def _span(values: list[float]) -> str:
    if len(values) <= 3:
        return ", ".join(f"{v:g}" for v in values)
    return f"{values[0]:g}..{values[-1]:g} ({len(values)} pts)"


def _threshold_line(t: dict[str, Any], lines: bool = True) -> str:
    if t["crossover_inside"]:
        where = f"; the two plans cross at {t['crossover_mbps']:.3f} Mbps"
    elif t["from_plan"] == "none" or t["to_plan"] == "none" or not lines:
        where = ""
    else:  # the lines meet outside the interval, or never
        where = "; their latencies do not cross in between (a third plan may win there)"
    return (
        f"  {t['device']}: {t['from_plan']} -> {t['to_plan']} between "
        f"{t['low_mbps']:g} and {t['high_mbps']:g} Mbps{where}"
    )


def _bits_text(report: dict[str, Any]) -> str:
    """Where the best plan's split tensors change width (a sweep with --bits)."""
    widths = ",".join(map(str, report["bits"]))
    changes = report["bit_changes"]
    if not changes:
        return f"bit widths ({widths}): the best plan's split tensors keep their widths\n"
    lines = [f"bit widths ({widths}), where the best plan's split tensors change them:"]
    lines += [
        f"  {c['device']}: {c['from_bits']} -> {c['to_bits']} between {c['low_mbps']:g} and "
        f"{c['high_mbps']:g} Mbps"
        for c in changes
    ]
    return "\n".join(lines) + "\n"


def sweep_text(report: dict[str, Any]) -> str:
    """The text of `cnnpc sweep` (the CLI says the files it wrote on stderr)."""
    labels = {plan_id: label for label, plan_id in report["plans"].items()}
    bws = report["bandwidths_mbps"]
    lines = [
        f"sweep of {report['model']} on {', '.join(report['devices'])}: "
        f"{len(bws)} edge->cloud bandwidths {bws[0]:g}..{bws[-1]:g} Mbps, "
        f"end->edge {report['uplink_mbps']:g} Mbps, accuracy floor {report['acc_floor']:g}"
    ]
    goal = report.get("objective")
    if goal is not None:
        from cnnpc.search import SearchObjective

        lines.append(
            SearchObjective.from_dict(goal).line()
            + " (regrets below in its unit: mJ, or ms per frame of the slowest stage)"
        )
    rows = []
    bests = [p["best"] or {} for p in report["points"]]
    more = [] if goal is None else [k for k in ("energy_mj", "fps") if any(k in b for b in bests)]
    for p in report["points"]:
        b = p["best"]
        tail = (
            [None] * 4
            if b is None
            else [
                b["mode"],
                "+".join(b["splits"]) or "-",
                _keep(b["config_key"]),
                b["val_accuracy"],
            ]
        )
        rows.append(
            [
                *(p["device"], p["bandwidth_mbps"]),
                None if b is None else labels[b["plan_id"]],
                None if b is None else b["latency_ms"],
                *(p["uncompressed_ms"], *tail, p["unverified"] or None),
                *(None if b is None else b.get(priced) for priced in more),
            ]
        )
    headers = ["device", "Mbps", "plan", "best ms", "unpruned ms", "mode", "splits", "keep"]
    units = {"energy_mj": "phone mJ", "fps": "frames/s"}
    headers += ["val acc", "unverified", *(units[m] for m in more)]
    lines += [format_table(headers, rows), ""]
    if "bit_changes" in report:
        lines.append(_bits_text(report))
    if report["thresholds"]:
        lines.append("thresholds (the best plan changes):")
        lines += [_threshold_line(t, goal is None) for t in report["thresholds"]]
    else:
        lines.append("no threshold: one plan is best across the whole grid")
    lines += ["", "plans, and the regret of keeping each fixed across the grid:"]
    by_id = {p["best"]["plan_id"]: p["best"] for p in report["points"] if p["best"]}
    regret_rows = [
        [
            r["device"],
            r["plan"],
            by_id[r["plan_id"]]["mode"],
            "+".join(by_id[r["plan_id"]]["splits"]) or "-",
            _keep(by_id[r["plan_id"]]["config_key"]),
            _span(r["best_at_mbps"]),
            *(r["max_ms"], r["max_pct"], r["max_at_mbps"], r["mean_ms"], r["mean_pct"]),
        ]
        for r in report["regret"]
    ]
    headers = ["device", "plan", "mode", "splits", "keep", "best at (Mbps)", "max regret ms"]
    lines.append(format_table([*headers, "max %", "at Mbps", "mean ms", "mean %"], regret_rows))
    unverified = report["unverified_points"]
    note = (
        f"; at {unverified} condition(s) a never-measured configuration would be faster: the "
        "best plan there is best among measured (raise --max-finetunes to check them)"
        if unverified
        else ""
    )
    if unverified and "accuracy_table" in report:  # a table is never tuned: its rows are all
        note = (
            f"; at {unverified} condition(s) the table lacks faster configurations of the grid "
            "(the point's 'unverified'): the best plan there is the best among its rows"
        )
    lines.append(
        f"\nfine-tunes spent: {report['finetunes']} (budget {report['max_finetunes']}){note}; "
        f"accuracy cache in {report['storage']}"
    )
    estimated = report.get("supernet")
    if estimated is not None:
        lines.append(
            f"accuracies are supernet estimates ({estimated['estimates']} made now; the count "
            "above counts them): confirm a plan with 'cnnpc search --accuracy supernet' or by "
            "fine-tuning"
        )
    return "\n".join(lines)
