"""`cnnpc plan` (the best plan for a fixed compression, with baselines) and `cnnpc profiles`."""

from __future__ import annotations

import argparse
from typing import Any

from cnnpc.cli._common import (
    BREAKDOWN_HEADERS,
    add_link_arguments,
    breakdown_cells,
    budget_ms,
    describe_links,
    format_table,
    keep_spec,
    link_options,
    print_json,
)
from cnnpc.errors import InputError
from cnnpc.planner import MODE_LABELS, Planner, planner_for
from cnnpc.profiles import Profile, list_profiles, load_profile
from cnnpc.records import KeepConfig


def setup_planner(args: argparse.Namespace) -> tuple[Profile, Planner]:
    """Profile + planner from the shared link options (errors are one-line CnnpcErrors)."""
    planner = planner_for(
        args.model, args.device, bandwidth_mbps=args.bandwidth, options=link_options(args)
    )
    return planner.profile, planner


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "plan",
        help="best deployment of a model for a fixed compression, with baselines",
        description="Price every end/edge/cloud layout exactly and print the fastest, with the "
        "single-tier, best single-split (NeuroSurgeon) and best two-split baselines.",
    )
    add_link_arguments(p)
    p.add_argument(
        "--keep",
        type=keep_spec,
        default={},
        metavar="NAME=FRACTION[,...]",
        help="kept channel fraction at pruned candidates (default: no pruning)",
    )
    p.add_argument(
        "--latency-budget",
        type=budget_ms,
        default=None,
        metavar="MS",
        help="also find the plan that meets this budget with the least traffic",
    )
    p.add_argument(
        "--granularity",
        choices=("block", "layer"),
        default="block",
        help="block: split only at the profile's candidates (default); layer: place every layer "
        "by an exact minimum cut of the layer graph, compared with the block plan",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_plan)

    q = sub.add_parser("profiles", help="list shipped models and end devices")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=run_profiles)


def plan_report(args: argparse.Namespace) -> dict[str, Any]:
    """Library-level result of `cnnpc plan` as a JSON-able dict."""
    profile, planner = setup_planner(args)
    compression = KeepConfig.from_fractions(profile.space, args.keep)
    best = planner.best(compression)
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
            name: plan.as_dict()
            | {"speedup_vs_best_single_tier": single_tier.latency_ms / plan.latency_ms}
            for name, plan in baselines.items()
        },
    }
    if args.latency_budget is not None:
        cheap = planner.least_traffic(args.latency_budget, compression)
        report["least_traffic"] = cheap.as_dict() | {"budget_ms": args.latency_budget}
    return report


def _describe(plan: dict[str, Any]) -> str:
    splits = ", ".join(plan["splits"]) or "none"
    return f"{MODE_LABELS[plan['mode']]}, split after: {splits}"


def run_plan(args: argparse.Namespace) -> int:
    if args.granularity == "layer":
        return run_layer_plan(args)
    report = plan_report(args)
    if args.json:
        print_json(report)
        return 0
    best = report["best"]
    print(
        f"{report['model']} on {report['device']}: {describe_links(report['links'])}, "
        f"overhead {report['overhead_ms']:g} ms"
    )
    if best["keep"]:
        kept = ", ".join(f"{k}={v:.3g}" for k, v in best["keep"].items())
        print(f"keep fractions: {kept} (compute scaling: {report['prune_compute']})")
    print(
        f"best plan: {best['latency_ms']:.2f} ms, {_describe(best)} "
        f"({best['speedup_vs_best_single_tier']:.2f}x the best single tier, "
        f"{report['best_single_tier'].replace('_', ' ')})"
    )
    rows = [_row("best", best)] + [_row(k, v) for k, v in report["baselines"].items()]
    if "least_traffic" in report:
        rows.append(
            _row(
                f"least traffic <= {report['least_traffic']['budget_ms']:g} ms",
                report["least_traffic"],
            )
        )
    print()
    print(
        format_table(
            ["plan", "mode", "splits", *BREAKDOWN_HEADERS, "KB sent", "speedup"],
            rows,
        )
    )
    return 0


def _row(label: str, plan: dict[str, Any]) -> list[object]:
    bd = plan["breakdown"]
    return [
        label,
        plan["mode"],
        "+".join(plan["splits"]) or "-",
        *breakdown_cells(bd),
        plan["traffic_bytes"] / 1024.0,
        plan.get("speedup_vs_best_single_tier"),
    ]


def run_profiles(args: argparse.Namespace) -> int:
    from cnnpc.profiles import user_profiles

    profiles = list_profiles()  # shipped and added models, then devices measured or imported here
    for model, devices in user_profiles().items():
        known = profiles.get(model, [])
        profiles[model] = known + [d for d in devices if d not in known]
    if args.json:
        print_json(profiles)
        return 0
    rows: list[list[object]] = []
    for model, devices in profiles.items():
        for device in devices:
            p = load_profile(model, device)
            rows.append(
                [
                    model,
                    device,
                    p.n_segments,
                    len(p.space.candidates),
                    p.tier_total("end"),
                    p.tier_total("edge"),
                    p.tier_total("cloud"),
                ]
            )
    print(
        format_table(
            ["model", "device", "segments", "candidates", "end ms", "edge ms", "cloud ms"], rows
        )
    )
    return 0


def _cut(plan: dict[str, Any]) -> str:
    return " + ".join(f"{c['link']} {c['layer']} ({c['shape']})" for c in plan["crossings"]) or "-"


def _layer_row(label: str, plan: dict[str, Any]) -> list[object]:
    return [
        label,
        plan["mode"],
        _cut(plan),
        *breakdown_cells(plan["breakdown"]),
        plan["traffic_bytes"] / 1024.0,
    ]


def run_layer_plan(args: argparse.Namespace) -> int:
    """`cnnpc plan --granularity layer`: the exact layer-level placement beside the block plan."""
    from cnnpc.layergraph import layer_plan_report

    if args.keep:
        raise InputError("--keep is not supported with --granularity layer (unpruned only)")
    if args.latency_budget is not None:
        raise InputError("--latency-budget is not supported with --granularity layer")
    report = layer_plan_report(args.model, args.device, args.bandwidth, link_options(args))
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
        _layer_row("layer best", best),
        _layer_row("layer end+edge", report["two_tier"]["end_edge"]),
        _layer_row("layer end+cloud", report["two_tier"]["end_cloud"]),
        _layer_row("block best", block),
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
