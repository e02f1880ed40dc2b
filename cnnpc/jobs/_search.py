"""`cnnpc search` as one library call: the search, its accuracy source, confirmation and report."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cnnpc._text import BREAKDOWN_HEADERS, breakdown_cells, format_table
from cnnpc.codec import MAX_BITS, check_coder, synthetic_measures
from cnnpc.errors import InputError, ProfileError
from cnnpc.jobs._links import AccuracyChoice, LinkChoice, device_option, model_option
from cnnpc.jobs._options import (
    SEARCHED,
    accuracy_floor,
    bits_option,
    bounded_float,
    bounded_int,
    budget_ms,
    end_memory_option,
    entropy_option,
    fps_option,
    objective_option,
    option,
    options,
    radio_option,
    rate_mbps,
)
from cnnpc.records import MAX_SEARCH_S, MAX_TRIALS

if TYPE_CHECKING:  # the stages load SQLAlchemy: `cnnpc plan` imports this package without it
    from cnnpc.accuracy import AccuracySpec
    from cnnpc.codec import CodecMeasure
    from cnnpc.planner import PartSizes, Planner
    from cnnpc.search import AccuracySource, Liveness, SearchObjective, SearchSettings, TrialEvent
    from cnnpc.storage import BestPlan

    TrialProgress = contextlib.AbstractContextManager[Callable[[TrialEvent], None] | None]
    """Entered around the trials; what it yields hears of each one."""


DEFAULT_TRIALS = 12
SEARCH_OBJECTIVES = ("latency", "energy", "throughput", "pareto")
"""`cnnpc.search.SEARCH_OBJECTIVES` (not imported here: the search package loads SQLAlchemy)."""


@dataclass(frozen=True)
class SearchJob:
    """What `cnnpc search` is asked: the search, where accuracies come from, where to store."""

    settings: SearchSettings
    accuracy: AccuracySpec
    liveness: Liveness
    storage_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class SearchRequest:
    """What `cnnpc search` is asked, one field per option; `job()` builds the stage records
    (SearchSettings, AccuracySpec, Liveness) from it, in this one place."""

    model: str = model_option()
    device: str = device_option()
    bandwidth: float = option(
        "--bandwidth", type=rate_mbps, metavar="MBPS", help="edge->cloud Mbps"
    )
    links: LinkChoice = options(LinkChoice)
    acc_floor: float | None = option(
        "--acc-floor",
        default=None,
        type=accuracy_floor,
        metavar="A0",
        help="minimise latency (or --objective) with val accuracy >= A0",
    )
    latency_budget: float | None = option(
        "--latency-budget",
        default=None,
        type=budget_ms,
        metavar="MS",
        help="maximise accuracy with latency <= MS (one of --acc-floor and --latency-budget; "
        "with --objective energy or throughput, beside --acc-floor: every plan meets it)",
    )
    strategy: str = option(
        "--strategy", default="tpe", choices=("tpe", "random", "exhaustive", "cnnpc")
    )
    trials: int = option(
        "--trials",
        default=DEFAULT_TRIALS,
        type=bounded_int(1, MAX_TRIALS, name="trials"),
        help=f"total trials ({DEFAULT_TRIALS}; at most {MAX_TRIALS:,})",
    )
    timeout: float | None = option(
        "--timeout",
        default=None,
        type=bounded_float(0, MAX_SEARCH_S, open_low=True, name="seconds"),
        metavar="S",
        help="stop after S s (at most a year)",
    )
    heartbeat: int | None = option(
        "--heartbeat",
        default=None,
        type=bounded_int(1, 86_400, name="seconds"),
        metavar="S",
        help="this worker renews its trials' and claims' heartbeat every S s (10)",
    )
    grace: int | None = option(
        "--grace",
        default=None,
        type=bounded_int(1, 86_400, name="seconds"),
        metavar="S",
        help="a worker silent for S s is taken to be dead and its work is taken over "
        "(60; at least twice --heartbeat)",
    )
    measure: AccuracyChoice = options(AccuracyChoice)
    end_memory: float | None = end_memory_option()
    objective: str = objective_option(
        SEARCH_OBJECTIVES,
        "what each configuration's plan minimises and the search with it: latency (default), "
        "the phone's energy or the slowest pipeline stage (throughput) above --acc-floor; "
        "pareto: Optuna's multi-objective search of latency, phone energy and accuracy (energy "
        "needs the profile's power figures: 'cnnpc profile import --power')",
    )
    fps: float | None = fps_option()
    radio: str | None = radio_option()
    bits: tuple[int, ...] | None = bits_option(SEARCHED)
    entropy: str | None = entropy_option(measured=True)

    def goal(self) -> tuple[float | None, float | None, SearchObjective]:
        """The search's floor, its latency budget, and its objective with the bounds of its
        plans: beside --acc-floor, --latency-budget bounds every plan of an energy or
        throughput search; otherwise it is the search's goal (exactly one of the two)."""
        from cnnpc.search import SearchObjective

        floor, budget = self.acc_floor, self.latency_budget
        bounded = self.objective in ("energy", "throughput") and floor is not None
        if floor is None and budget is None:
            raise InputError("one of the arguments --acc-floor --latency-budget is required")
        if floor is not None and budget is not None and not bounded:
            raise InputError(
                "argument --latency-budget: not allowed with argument --acc-floor (both: with "
                "--objective energy or throughput, where it bounds every plan)"
            )
        objective = SearchObjective(
            self.objective, budget if bounded else None, self.fps, self.radio
        )
        return floor, None if bounded else budget, objective

    def job(self) -> SearchJob:
        """The search, its accuracy source, its liveness and its database."""
        from cnnpc.search import DEFAULT_GRACE_S, DEFAULT_HEARTBEAT_S, Liveness, SearchSettings

        floor, budget, objective = self.goal()

        liveness = Liveness(
            heartbeat_s=DEFAULT_HEARTBEAT_S if self.heartbeat is None else self.heartbeat,
            grace_s=DEFAULT_GRACE_S if self.grace is None else self.grace,
        )
        settings = SearchSettings(
            model=self.model,
            device=self.device,
            bandwidth_mbps=self.bandwidth,
            acc_floor=floor,
            latency_budget_ms=budget,
            strategy=self.strategy,
            trials=self.trials,
            timeout_s=self.timeout,
            seed=self.measure.seed,
            links=dataclasses.replace(self.links.link_options(), end_memory_mb=self.end_memory),
            keep_grid=self.measure.keep_grid,
            objective=objective,
            bits=self.bits or (MAX_BITS,),
            entropy=self.entropy or "none",
        )
        spec = self.measure.spec(self.model)
        if settings.coded:
            check_coded_source(spec, settings.entropy, "search")
        return SearchJob(settings, spec, liveness, self.measure.storage)


@dataclass(frozen=True)
class SearchOutcome:
    """The report of `cnnpc search --json` and the best plan it names."""

    report: dict[str, Any]
    best: BestPlan | None
    parts: PartSizes | None = None
    """What each tier of the best plan holds (int8 weights as deployed)."""


def search(job: SearchJob, progress: TrialProgress | None = None) -> SearchOutcome:
    """Run (or resume) the search; with a confirming source, confirm its answer by fine-tuning.

    `progress` is entered once the storage is open and the source ready (a bad database is
    one error line, not a progress bar and an error), and hears of every trial.
    """
    from cnnpc.accuracy import confirming_source, table_use
    from cnnpc.search import confirm, run_search
    from cnnpc.storage import display_url, open_around, resolve_url

    settings, spec = job.settings, job.accuracy
    planner = settings.planner()
    stand_in = planner.profile.stand_in  # validates model/device before heavy work
    goal = settings.objective
    if spec.confirms and (goal.objective != "latency" or goal.min_fps is not None):
        raise InputError(
            f"--objective {goal.objective} is not supported with a confirming accuracy source "
            "(its confirmation ranks by latency): use --accuracy table:FILE or fine-tuning"
        )
    checked = spec.check()
    # loading --weights and training may refuse: no new database is left behind then
    storage, source = open_around(resolve_url(job.storage_url), lambda: spec.open(checked))
    if settings.coded:  # the codec's ratio and time per candidate and width, on the baseline
        names = planner.profile.space.names
        measures = measured_codecs(source, settings.searched_bits, settings.entropy, names)
        settings = dataclasses.replace(settings, codec_measures=measures)
    with progress if progress is not None else contextlib.nullcontext() as on_trial:
        result = run_search(settings, source, storage, on_trial, job.liveness)
    estimated = None
    if spec.confirms:  # rank on estimates, answer with fine-tunes
        finetune = confirming_source(source)
        estimated, result = confirm(settings, result, storage, finetune, liveness=job.liveness)
    report: dict[str, Any] = {
        "search_id": result.search_id,
        "status": result.status,
        "message": result.message,
        "finetunes": result.finetunes,
        "trials": result.trials,
        "best": None if result.best is None else result.best.as_dict(),
        "pareto": [p.as_dict() for p in result.pareto],
        "storage": display_url(storage.url),
        "stand_in": stand_in,
    }
    if not goal.plain:  # the JSON gains them only when asked
        report["objective"] = goal.as_dict()
    if goal.pareto:
        report["front"] = [p.as_dict() for p in result.front]
    limit = settings.links.end_memory_mb
    parts = None if result.best is None else best_parts(planner, result.best)
    if limit is not None and parts is not None:  # the JSON gains them only when asked
        report["end_memory_mb"] = limit
        report["best"]["parts"] = parts.as_dict()
    if estimated is not None:
        report["supernet"] = estimated.as_dict()
    table = table_use(source)
    if table is not None:
        report["accuracy_table"] = table
    if result.exactness is not None:  # exhaustive: whether its answer is proven optimal
        report["exhaustive"] = result.exactness.as_dict()
    return SearchOutcome(report, result.best, parts)


def check_coded_source(spec: AccuracySpec, entropy: str, job: str) -> None:
    """--bits and --entropy with an accuracy source that knows widths (search and sweep): one
    line before TensorFlow is imported. A table's `bits` column gives its rows' widths, but it
    has no model to measure a coder's ratio on (fine-tunes and supernet estimates have)."""
    check_coder(entropy)
    if spec.kind == "table" and entropy != "none":
        raise InputError(
            f"--entropy prices the coder's ratio measured on a trained model's tensors, which "
            f"--accuracy {spec.accuracy} has not: drop --entropy (--bits reads the table's "
            "bits column)"
        )


def measured_codecs(
    source: AccuracySource, bits: tuple[int, ...], entropy: str, names: Sequence[str]
) -> tuple[CodecMeasure, ...]:
    """The coder's ratio and the codec's time per candidate (of `names`) and width, measured
    on the fine-tuning source's baseline (`cnnpc.oracle.codec_measures`; a supernet's: its
    confirming fine-tunes' baseline), or without a model
    (an accuracy table's search) the codec's time alone (`cnnpc.codec.synthetic_measures`)."""
    from cnnpc.search import OracleSource

    tuning = source if isinstance(source, OracleSource) else source.confirms_with
    if not isinstance(tuning, OracleSource):  # a table: no model
        return synthetic_measures(names, bits) if entropy == "none" else ()
    from cnnpc.oracle import codec_measures

    return codec_measures(tuning.oracle, bits, entropy)


def best_parts(planner: Planner, best: BestPlan) -> PartSizes | None:
    """What each tier of the search's answer holds (None: the model has no layer graph)."""
    from cnnpc.records import KeepConfig

    keep = KeepConfig.from_fractions(planner.profile.space, best.keep)
    a = len(best.tiers.end)
    b = a + len(best.tiers.edge)
    try:
        return planner.weights.sizes(a, b, keep)
    except ProfileError:
        return None


@contextlib.contextmanager
def progress_bar(quiet: bool) -> Iterator[Callable[[TrialEvent], None]]:
    """A progress bar of the trials on stderr (rich), for `search(job, progress_bar())`."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("[bold]search"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("fine-tunes {task.fields[finetunes]}"),
        TextColumn("best {task.fields[best]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet,
    )
    task = progress.add_task("search", total=None, finetunes=0, best="-")

    def on_trial(event: TrialEvent) -> None:
        best = "-"
        if event.best_latency_ms is not None:
            best = f"{event.best_latency_ms:.2f} ms @ {event.best_accuracy:.4f}"
        progress.update(
            task, total=event.total, completed=event.done, finetunes=event.finetunes, best=best
        )

    with progress:
        yield on_trial


def _best_lines(best: BestPlan) -> list[str]:
    keep = ", ".join(f"{k}={v:g}" for k, v in best.keep.items()) or "no pruning"
    splits = ", ".join(best.splits) or "none"
    cut = best.traffic_reduction_vs_uncompressed
    priced = "".join(
        f", {text}"
        for value, text in (
            (best.energy_mj, f"phone {best.energy_mj or 0:.2f} mJ"),
            (best.fps, f"{best.fps or 0:.2f} frames/s"),
        )
        if value is not None
    )
    return [
        f"best plan: {best.latency_ms:.2f} ms{priced}, {best.mode} split after {splits}; "
        f"keep {keep}",
        f"  accuracy {best.test_accuracy:.4f} on the test split "
        f"(validation {best.val_accuracy:.4f})",
        f"  {best.speedup_vs_best_single_tier:.2f}x the best single tier "
        f"({best.baselines.single_tier}), {best.speedup_vs_uncompressed_plan:.2f}x the best "
        "uncompressed plan",
        f"  traffic {best.traffic_bytes / 1024:.1f} KB per inference "
        f"({abs(cut):.0%} {'less' if cut >= 0 else 'more'} than the best uncompressed plan)",
        format_table(BREAKDOWN_HEADERS, [breakdown_cells(best.breakdown.as_dict())]),
    ]


def _exactness_line(exact: dict[str, Any]) -> str:
    """What an exhaustive search proved (its answer exact, or cut short) and what a table lacks."""
    where = "the grid"
    if exact["table_rows"] is not None:
        where = f"the table's {exact['table_rows']} configurations"
        if exact["off_grid"]:
            where += f" ({exact['off_grid']} rows off the keep grid not searched)"
    if not exact["proven"]:
        line = (
            f"exhaustive: NOT proven optimal over {where}: {exact['pending']} configuration(s) "
            "that could beat the answer were never tried"
        )
    else:
        line = f"exhaustive: the exact optimum over {where} ({exact['candidates']} priced)"
    if exact["below_floor"]:
        line += f"; {exact['below_floor']} faster rows read below the floor (no trial)"
    lacking = exact["faster_lacking"]
    if lacking is not None:
        line += f"; {lacking} faster configuration(s) of the grid are not in the table"
    return line


def front_lines(front: list[dict[str, Any]]) -> list[str]:
    """A pareto search's front as a table (search and show print it)."""
    rows = [
        [
            p["trial"],
            p["latency_ms"],
            p.get("energy_mj"),
            p["val_accuracy"],
            p["mode"],
            "+".join(p["splits"]) or "-",
            ", ".join(f"{k}={v:g}" for k, v in p["keep"].items()) or "no pruning",
        ]
        for p in front
    ]
    headers = ["trial", "ms", "phone mJ", "val acc", "mode", "splits", "keep"]
    return [
        f"Pareto front ({len(front)} trials; latency, phone energy, validation accuracy):",
        format_table(headers, rows) if rows else "  (no feasible trial yet)",
    ]


def search_text(outcome: SearchOutcome) -> str:
    """The text of `cnnpc search`."""
    report, best = outcome.report, outcome.best
    lines = [
        f"search {report['search_id']}: {report['status']}"
        + (f" ({report['message']})" if report["message"] else "")
    ]
    goal = report.get("objective")
    if goal is not None:
        from cnnpc.search import SearchObjective

        lines.append(SearchObjective.from_dict(goal).line())
    lines += ["no feasible plan found"] if best is None else _best_lines(best)
    if "front" in report:
        lines += front_lines(report["front"])
    if outcome.parts is not None:
        p, limit = outcome.parts, report.get("end_memory_mb")
        lines.append(
            f"  parts (int8 weights): end {p.end_bytes / 1024:.1f} KB, edge "
            f"{p.edge_bytes / 1024:.1f} KB, cloud {p.cloud_bytes / 1024:.1f} KB"
            + (
                ""
                if p.end_memory_bytes is None
                else f"; end peak {p.end_memory_bytes / 1024:.1f} KB"
            )
            + ("" if limit is None else f" (end part limit {limit:g} MB)")
        )
    estimated = report.get("supernet")
    if estimated is not None:
        proof = (
            "proven best under the corrected estimates"
            if estimated["proven"]
            else f"{estimated['remaining']} candidate(s) could still beat it"
        )
        lines.append(
            f"supernet: search {estimated['estimate_search_id']} ranked "
            f"{estimated['estimate_trials']} trials on estimates ({estimated['candidates']} "
            f"candidates); {estimated['tried']} plans fine-tuned in the order their corrected "
            f"estimates gave ({'confirmed' if estimated['confirmed'] else 'none confirmed'}, "
            f"{proof}); the answer is search {report['search_id']}"
        )
    table = report.get("accuracy_table")
    if table is not None:
        lines.append(
            f"accuracy table {table['file']}: the search asked for {table['asked']} "
            f"configurations, {table['unmeasured']} not in the table (recorded as unmeasured)"
        )
    exact = report.get("exhaustive")
    if exact is not None:
        lines.append(_exactness_line(exact))
    lines.append(
        f"trials {report['trials']}, fine-tunes {report['finetunes']}; "
        f"stored in {report['storage']} (see 'cnnpc show {report['search_id']}')"
    )
    return "\n".join(lines)
