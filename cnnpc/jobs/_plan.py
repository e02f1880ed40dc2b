"""`cnnpc plan` and `cnnpc profiles` as library calls: the priced plans and their text."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cnnpc._text import format_table
from cnnpc.codec import CodecChoice, check_coder
from cnnpc.errors import InputError, ProfileError
from cnnpc.jobs._links import LinkChoice, device_option, model_option
from cnnpc.jobs._options import (
    bits_option,
    budget_ms,
    end_memory_option,
    entropy_option,
    fps_option,
    keep_spec,
    objective_option,
    option,
    options,
    radio_option,
    rate_mbps,
)
from cnnpc.planner import OBJECTIVES, LinkOptions, Plan, Planner, planner_for
from cnnpc.records import KeepConfig


@dataclass(frozen=True, kw_only=True)
class PlanJob:
    """What `cnnpc plan` is asked (`plan_job` runs it)."""

    model: str = model_option()
    device: str = device_option()
    bandwidth: float = option(
        "--bandwidth", type=rate_mbps, metavar="MBPS", help="edge->cloud Mbps"
    )
    links: LinkChoice = options(LinkChoice)
    keep: Mapping[str, float] = option(
        "--keep",
        factory=dict,
        type=keep_spec,
        metavar="NAME=FRACTION[,...]",
        help="kept channel fraction at pruned candidates (default: no pruning)",
    )
    latency_budget: float | None = option(
        "--latency-budget",
        default=None,
        type=budget_ms,
        metavar="MS",
        help="also find the plan that meets this budget with the least traffic (with "
        "--objective energy or throughput: the best plan meets it)",
    )
    objective: str = objective_option(
        OBJECTIVES,
        "what the best plan minimises: latency (default), the phone's energy per "
        "inference (needs the profile's power figures: 'cnnpc profile import --power'), or "
        "the slowest pipeline stage (throughput, frames per second of a stream)",
    )
    fps: float | None = fps_option()
    radio: str | None = radio_option()
    granularity: str = option(
        "--granularity",
        default="block",
        choices=("block", "layer"),
        help="block: split only at the profile's candidates (default); layer: place every layer "
        "by an exact minimum cut of the layer graph, compared with the block plan",
    )
    end_memory: float | None = end_memory_option()
    bits: tuple[int, ...] | None = bits_option()
    entropy: str | None = entropy_option()

    @property
    def codecs(self) -> CodecChoice | None:
        """The split tensors' codec choice (None: neither --bits nor --entropy, int8 as before)."""
        if self.bits is None and self.entropy is None:
            return None
        choice = CodecChoice(self.bits or (8,), self.entropy or "none")
        check_coder(choice.entropy)
        return choice


def plan_job(job: PlanJob, *, parts: bool = False) -> dict[str, Any]:
    """`plan` of what `cnnpc plan` is asked (`parts`: with every plan's part sizes)."""
    return plan(
        job.model,
        job.device,
        job.bandwidth,
        dataclasses.replace(job.links.link_options(), end_memory_mb=job.end_memory),
        job.keep,
        latency_budget_ms=job.latency_budget,
        granularity=job.granularity,
        parts=parts,
        codecs=job.codecs,
        goal=Goal(job.objective, job.fps, job.radio),
    )


@dataclass(frozen=True)
class Goal:
    """What the best plan minimises (`objective`), the rate its pipeline must reach (`fps`) and
    the radio that prices the phone's energy (None: the profile's first)."""

    objective: str = "latency"
    fps: float | None = None
    radio: str | None = None

    @property
    def plain(self) -> bool:
        """Latency alone, as before objectives: the report stays as it was."""
        return self.objective == "latency" and self.fps is None


def plan(
    model: str,
    device: str,
    bandwidth_mbps: float,
    options: LinkOptions,
    keep: Mapping[str, float],
    latency_budget_ms: float | None = None,
    granularity: str = "block",
    *,
    parts: bool = False,
    codecs: CodecChoice | None = None,
    goal: Goal | None = None,
) -> dict[str, Any]:
    """The best plan for a fixed compression with the baselines (`cnnpc plan --json`); with
    granularity 'layer', the exact layer-level placement beside the block plan (unpruned).
    Each plan gets its tiers' part sizes ("parts") when asked or under an end-memory limit
    (the JSON of a plain `cnnpc plan --json` stays as it was). With `codecs`, each plan names
    its links' codecs ("codecs") and the report the choice ("codec_choice"). With a `goal`
    other than latency alone, the best plan is the goal's and the fastest is reported beside
    it ("fastest"); on a profile with power figures, every plan has the phone's energy."""
    goal = goal or Goal()
    if granularity == "layer":
        if not goal.plain:
            raise InputError(
                "--objective energy/throughput and --fps are not supported with --granularity "
                "layer (its minimum cut prices latency only; a pipeline's slowest stage is no cut)"
            )
        from cnnpc.layergraph import layer_plan_report

        if keep:
            raise InputError("--keep is not supported with --granularity layer (unpruned only)")
        if latency_budget_ms is not None:
            raise InputError("--latency-budget is not supported with --granularity layer")
        if options.end_memory_mb is not None:
            raise InputError("--end-memory is not supported with --granularity layer")
        return layer_plan_report(model, device, bandwidth_mbps, options, codecs) | _choice(codecs)
    planner = planner_for(
        model,
        device,
        bandwidth_mbps=bandwidth_mbps,
        options=options,
        codecs=codecs,
        radio=goal.radio,
        throughput=not goal.plain,
    )
    profile = planner.profile
    compression = KeepConfig.from_fractions(profile.space, keep)
    constrained = goal.objective != "latency" and latency_budget_ms is not None
    best = planner.choose(
        compression,
        goal.objective,
        budget_ms=latency_budget_ms if constrained else None,
        min_fps=goal.fps,
    )
    baselines = planner.baselines(compression)
    single_tier = min(
        (baselines[k] for k in ("end_only", "edge_only", "cloud_only")), key=lambda p: p.latency_ms
    )
    report: dict[str, Any] = {
        "model": profile.model,
        "device": profile.device,
        "stand_in": profile.stand_in,
        "links": planner.links.as_dict(),
        "overhead_ms": planner.conventions.overhead_ms,
        "prune_compute": planner.conventions.prune_compute,
        "best": best.as_dict()
        | {"speedup_vs_best_single_tier": single_tier.latency_ms / best.latency_ms},
        "best_single_tier": single_tier.mode,
        "baselines": {
            name: p.as_dict()
            | {"speedup_vs_best_single_tier": single_tier.latency_ms / p.latency_ms}
            for name, p in baselines.items()
        },
    }
    plans = {"best": best, **baselines}
    if not goal.plain:
        fastest = planner.best(compression)
        report["objective"] = {
            "objective": goal.objective,
            "latency_budget_ms": latency_budget_ms if constrained else None,
            "min_fps": goal.fps,
        }
        report["fastest"] = fastest.as_dict() | {
            "speedup_vs_best_single_tier": single_tier.latency_ms / fastest.latency_ms
        }
        plans["fastest"] = fastest
    if planner.power is not None:
        report["power"] = planner.power.as_dict()
    if latency_budget_ms is not None and not constrained:
        cheap = planner.least_traffic(latency_budget_ms, compression)
        report["least_traffic"] = cheap.as_dict() | {"budget_ms": latency_budget_ms}
        plans["least_traffic"] = cheap
    if parts or options.end_memory_mb is not None:
        add_parts(planner, compression, plans, report)
    return report | _choice(codecs)


def _choice(codecs: CodecChoice | None) -> dict[str, Any]:
    """The report's "codec_choice" (nothing without one: the JSON stays as it was)."""
    if codecs is None:
        return {}
    return {"codec_choice": {"bits": list(codecs.bits), "entropy": codecs.entropy}}


def add_parts(
    planner: Planner, keep: KeepConfig, plans: Mapping[str, Plan], report: dict[str, Any]
) -> None:
    """Each reported plan's part sizes under its "parts" key, and the end part's limit; nothing
    when the model has no layer graph to count weights from (and no limit was asked)."""
    if planner.end_memory_mb is not None:
        report["end_memory_mb"] = planner.end_memory_mb
    try:
        sizes = {name: planner.part_sizes(p, keep) for name, p in plans.items()}
    except ProfileError:
        if planner.end_memory_mb is not None:
            raise
        return
    for name, size in sizes.items():
        entry = report["baselines"][name] if name in report["baselines"] else report[name]
        entry["parts"] = size.as_dict()


def profiles() -> dict[str, list[str]]:
    """Shipped and added models, then the devices measured or imported here (`cnnpc profiles`)."""
    from cnnpc.profiles import list_profiles, user_profiles

    found = list_profiles()
    for model, devices in user_profiles().items():
        known = found.get(model, [])
        found[model] = known + [d for d in devices if d not in known]
    return found


def profiles_text(found: Mapping[str, list[str]]) -> str:
    """The text of `cnnpc profiles`: one line per model and device, with each tier's total."""
    from cnnpc.profiles import load_profile

    rows: list[list[object]] = []
    for model, devices in found.items():
        for device in devices:
            p = load_profile(model, device)
            tiers = [p.tier_total(t) for t in ("end", "edge", "cloud")]
            rows.append([model, device, p.n_segments, len(p.space.candidates), *tiers])
    headers = ["model", "device", "segments", "candidates", "end ms", "edge ms", "cloud ms"]
    return format_table(headers, rows)
