"""`cnnpc plan --granularity layer`: the exact layer-level placement beside the block plan."""

from __future__ import annotations

import argparse
from typing import Any

from cnnpc.cli._common import BREAKDOWN_HEADERS, breakdown_cells, format_table, print_json
from cnnpc.cli._plan import describe_links, link_options, links_report
from cnnpc.errors import InputError
from cnnpc.planner import MODE_LABELS


def layer_plan_report(args: argparse.Namespace) -> dict[str, Any]:
    """Library-level result of `cnnpc plan --granularity layer` as a JSON-able dict."""
    if args.keep:
        raise InputError("--keep is not supported with --granularity layer (unpruned only)")
    if args.latency_budget is not None:
        raise InputError("--latency-budget is not supported with --granularity layer")
    from cnnpc.layergraph import layer_planner_for

    layers, blocks = layer_planner_for(
        args.model, args.device, bandwidth_mbps=args.bandwidth, options=link_options(args)
    )
    best = layers.best()
    block = blocks.best()
    block_layers = layers.price(layers.block_placement(block.a, block.b))
    cuts = {(c.link, c.layer) for c in best.crossings}
    block_cuts = {(c.link, c.layer) for c in block_layers.crossings}
    return {
        "model": layers.profile.model,
        "device": layers.profile.device,
        "granularity": "layer",
        "links": links_report(blocks),
        "overhead_ms": layers.conventions.overhead_ms,
        "layers": layers.graph.n_layers,
        "best": best.as_dict(),
        "two_tier": {
            "end_edge": layers.best(("end", "edge")).as_dict(),
            "end_cloud": layers.best(("end", "cloud")).as_dict(),
        },
        "block_best": block.as_dict()
        | {"crossings": [c.as_dict() for c in block_layers.crossings]},
        "difference": {
            "latency_ms": best.latency_ms - block.latency_ms,
            "speedup": block.latency_ms / best.latency_ms,
            "same_cut": cuts == block_cuts,
        },
    }


def _cut(plan: dict[str, Any]) -> str:
    return " + ".join(f"{c['link']} {c['layer']} ({c['shape']})" for c in plan["crossings"]) or "-"


def _row(label: str, plan: dict[str, Any]) -> list[object]:
    return [
        label,
        plan["mode"],
        _cut(plan),
        *breakdown_cells(plan["breakdown"]),
        plan["traffic_bytes"] / 1024.0,
    ]


def run_layer_plan(args: argparse.Namespace) -> int:
    report = layer_plan_report(args)
    if args.json:
        print_json(report)
        return 0
    best, block, diff = report["best"], report["block_best"], report["difference"]
    print(
        f"{report['model']} on {report['device']}, {report['layers']} layers: "
        f"{describe_links(report['links'])}, overhead {report['overhead_ms']:g} ms"
    )
    print(
        f"layer plan: {best['latency_ms']:.2f} ms, {MODE_LABELS[best['mode']]} "
        f"(min cut solved in {best['solve_ms']:.1f} ms)"
    )
    splits = "+".join(block["splits"]) or "no split"
    verdict = (
        "same cut"
        if diff["same_cut"]
        else f"{-diff['latency_ms']:.2f} ms faster ({diff['speedup']:.3f}x), a different cut"
    )
    print(f"block plan: {block['latency_ms']:.2f} ms, {MODE_LABELS[block['mode']]}, {splits}")
    print(f"layer vs block: {verdict}")
    rows = [
        _row("layer best", best),
        _row("layer end+edge", report["two_tier"]["end_edge"]),
        _row("layer end+cloud", report["two_tier"]["end_cloud"]),
        _row("block best", block),
    ]
    print()
    print(format_table(["plan", "mode", "tensors sent", *BREAKDOWN_HEADERS, "KB sent"], rows))
    print()
    print("layer plan, tier by tier (network order):")
    for run in best["runs"]:
        span = run["first"] if run["layers"] == 1 else f"{run['first']} .. {run['last']}"
        count = f"{run['layers']} layer" + ("s" if run["layers"] > 1 else "")
        print(f"  {run['tier']:<5} {span} ({count})")
    return 0
