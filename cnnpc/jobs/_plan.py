"""`cnnpc plan` and `cnnpc profiles` as library calls: the priced plans and their text."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cnnpc._text import BREAKDOWN_HEADERS, breakdown_cells, format_table
from cnnpc.codec import CodecChoice, check_coder
from cnnpc.errors import InputError, ProfileError
from cnnpc.jobs._links import LinkChoice, device_option, model_option
from cnnpc.jobs._options import (
    bits_option,
    budget_ms,
    end_memory_option,
    entropy_option,
    keep_spec,
    option,
    options,
    positive_float,
    rate_mbps,
)
from cnnpc.planner import MB, MODE_LABELS, OBJECTIVES, LinkOptions, Plan, Planner, planner_for
from cnnpc.profiles import RADIOS
from cnnpc.records import MBIT_SI, KeepConfig


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
    objective: str = option(
        "--objective",
        default="latency",
        choices=OBJECTIVES,
        help="what the best plan minimises: latency (default), the phone's energy per "
        "inference (needs the profile's power figures: 'cnnpc profile import --power'), or "
        "the slowest pipeline stage (throughput, frames per second of a stream)",
    )
    fps: float | None = option(
        "--fps",
        default=None,
        type=positive_float,
        metavar="F",
        help="only plans whose pipeline (end, links, edge, cloud) reaches F frames per second",
    )
    radio: str | None = option(
        "--radio",
        default=None,
        choices=RADIOS,
        help="the phone's radio whose power figures price energy (default: the profile's first)",
    )
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


def describe_links(links: Mapping[str, float]) -> str:
    """One line naming both links (rates, and latencies where not 0)."""
    unit = "10^6" if links["mbit_bits"] == MBIT_SI else f"{links['mbit_bits']:,.0f}"

    def one(rate: float, latency: float) -> str:
        return f"{rate:g} Mbps" + (f" + {latency:g} ms one-way" if latency else "")

    return (
        f"end->edge {one(links['uplink_mbps'], links['uplink_latency_ms'])}, "
        f"edge->cloud {one(links['bandwidth_mbps'], links['latency_ms'])} (1 Mbps = {unit} bit/s)"
    )


def _row(label: str, plan: dict[str, Any], where: str) -> list[object]:
    cells = [label, plan["mode"], where, *breakdown_cells(plan["breakdown"])]
    return [*cells, plan["traffic_bytes"] / 1024.0]


def plan_text(report: dict[str, Any]) -> str:
    """The text of `cnnpc plan` (either granularity)."""
    if "block_best" in report:
        return _layer_plan_text(report)
    best = report["best"]
    lines = [
        f"{report['model']} on {report['device']}: {describe_links(report['links'])}, "
        f"overhead {report['overhead_ms']:g} ms"
    ]
    if best["keep"]:
        kept = ", ".join(f"{k}={v:.3g}" for k, v in best["keep"].items())
        lines.append(f"keep fractions: {kept} (compute scaling: {report['prune_compute']})")
    lines.append(
        f"best plan: {best['latency_ms']:.2f} ms, {MODE_LABELS[best['mode']]}, split after: "
        f"{', '.join(best['splits']) or 'none'} "
        f"({best['speedup_vs_best_single_tier']:.2f}x the best single tier, "
        f"{report['best_single_tier'].replace('_', ' ')})"
    )
    if "codecs" in best:
        lines.append(f"codecs of the best plan: {codecs_text(best['codecs'])}")
    lines += _goal_lines(report)
    plans = [("best", best), *report["baselines"].items()]
    if "fastest" in report:
        plans.insert(1, ("fastest", report["fastest"]))
    if "least_traffic" in report:
        cheap = report["least_traffic"]
        plans.append((f"least traffic <= {cheap['budget_ms']:g} ms", cheap))
    rows = [
        [*_row(label, p, "+".join(p["splits"]) or "-"), p.get("speedup_vs_best_single_tier")]
        + ([_bits(p["codecs"])] if "codecs" in p else [])
        + [p[k] for k in ("energy_mj", "fps") if k in best]
        for label, p in plans
    ]
    headers = ["plan", "mode", "splits", *BREAKDOWN_HEADERS, "KB sent", "speedup"]
    if "codec_choice" in report:
        headers.append("bits")
    headers += [h for k, h in (("energy_mj", "phone mJ"), ("fps", "frames/s")) if k in best]
    return "\n".join([*lines, "", format_table(headers, rows), *parts_text(plans, report)])


def _goal_lines(report: Mapping[str, Any]) -> list[str]:
    """What the best plan was chosen for, and the power figures that price the phone's energy
    (nothing for latency alone on a profile without figures: the text stays as it was)."""
    lines = []
    goal = report.get("objective")
    if goal is not None:
        wants = {"latency": "the fastest", "energy": "the least phone energy"}
        what = wants.get(goal["objective"], "the most frames per second")
        limits = []
        if goal["latency_budget_ms"] is not None:
            limits.append(f"within {goal['latency_budget_ms']:g} ms")
        if goal["min_fps"] is not None:
            limits.append(f"reaching {goal['min_fps']:g} frames/s")
        lines.append(f"objective: {what}" + "".join(f", {x}" for x in limits))
    power = report.get("power")
    if power is not None:
        lines.append(
            f"phone power: compute {power['compute_w']:g} W, idle {power['idle_w']:g} W, "
            f"{power['radio']} tx {power['tx_w']:g} W, rx {power['rx_w']:g} W "
            "(energy: end at compute W, uplink at tx W, the result's way back (the overhead) at "
            "rx W, waiting at idle W)"
        )
    return lines


def codecs_text(codecs: list[dict[str, Any]]) -> str:
    """'end->edge block3: 4 bits, edge->cloud block10: 2 bits + zstd' (the raw input: int8)."""
    from cnnpc.codec import Codec

    return (
        ", ".join(
            f"{c['link']} {c['tensor']}: {Codec(c['bits'], c['entropy']).label}" for c in codecs
        )
        or "no link used"
    )


def _bits(codecs: list[dict[str, Any]]) -> str:
    """The bit widths of a plan's links, end->edge first ('-': no link used)."""
    return "/".join(str(c["bits"]) for c in codecs) or "-"


def parts_text(plans: list[tuple[str, dict[str, Any]]], report: Mapping[str, Any]) -> list[str]:
    """The table of what each plan's tiers hold (empty when the report has no part sizes)."""
    limit = report.get("end_memory_mb")
    shown = [(label, p["parts"]) for label, p in plans if "parts" in p]
    if not shown:
        return []
    measured = any(sizes["end_memory_bytes"] is not None for _, sizes in shown)
    rows: list[list[object]] = []
    for label, sizes in shown:
        row: list[object] = [label, *(sizes[f"{t}_bytes"] / 1024 for t in ("end", "edge", "cloud"))]
        peak = sizes["end_memory_bytes"]
        if measured:
            row.append("-" if peak is None else peak / 1024)
        if limit is not None:
            need = sizes["end_bytes"] if peak is None else peak
            row.append("yes" if need <= limit * MB else "no")
        rows.append(row)
    headers = ["plan", "end KB", "edge KB", "cloud KB"]
    if measured:
        headers.append("end peak KB")
    if limit is not None:
        headers.append(f"end fits {limit:g} MB")
    title = "part sizes (int8 weights as deployed; KB = 1024 bytes, MB = 2^20 bytes):"
    return ["", title, format_table(headers, rows)]


def _cut(plan: dict[str, Any]) -> str:
    return (
        " + ".join(
            f"{c['link']} {c['layer']} ({c['shape']}"
            + (f", {c['bits']} bits" if "bits" in c else "")
            + ")"
            for c in plan["crossings"]
        )
        or "-"
    )


def _layer_plan_text(report: dict[str, Any]) -> str:
    """The text of `cnnpc plan --granularity layer`."""
    best, block, diff = report["best"], report["block_best"], report["difference"]
    verdict = (
        "same cut"
        if diff["same_cut"]
        else f"{-diff['latency_ms']:.2f} ms faster ({diff['speedup']:.3f}x), a different cut"
    )
    lines = [
        f"{report['model']} on {report['device']}, {report['layers']} layers: "
        f"{describe_links(report['links'])}, overhead {report['overhead_ms']:g} ms",
        f"layer plan: {best['latency_ms']:.2f} ms, {MODE_LABELS[best['mode']]} "
        f"(min cut solved in {best['solve_ms']:.1f} ms)",
        f"block plan: {block['latency_ms']:.2f} ms, {MODE_LABELS[block['mode']]}, "
        f"{'+'.join(block['splits']) or 'no split'}",
        f"layer vs block: {verdict}",
        "",
    ]
    two = report["two_tier"]
    rows = [
        _row("layer best", best, _cut(best)),
        _row("layer end+edge", two["end_edge"], _cut(two["end_edge"])),
        _row("layer end+cloud", two["end_cloud"], _cut(two["end_cloud"])),
        _row("block best", block, _cut(block)),
    ]
    headers = ["plan", "mode", "tensors sent", *BREAKDOWN_HEADERS, "KB sent"]
    lines += [format_table(headers, rows), "", "layer plan, tier by tier (network order):"]
    for run in best["runs"]:
        span = run["first"] if run["layers"] == 1 else f"{run['first']} .. {run['last']}"
        count = f"{run['layers']} layer" + ("s" if run["layers"] > 1 else "")
        lines.append(f"  {run['tier']:<5} {span} ({count})")
    return "\n".join(lines)


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
