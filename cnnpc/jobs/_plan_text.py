"""The text of `cnnpc plan` (either granularity), from its report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnnpc._text import BREAKDOWN_HEADERS, breakdown_cells, format_table
from cnnpc.planner import MB, MODE_LABELS
from cnnpc.records import MBIT_SI


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
