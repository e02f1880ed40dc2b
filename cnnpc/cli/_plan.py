"""`cnnpc plan` (the best plan for a fixed compression, with baselines) and `cnnpc profiles`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from cnnpc.cli._common import (
    BREAKDOWN_HEADERS,
    breakdown_cells,
    budget_ms,
    format_table,
    keep_spec,
    print_json,
    rate_mbps,
    time_ms,
)
from cnnpc.latency import MBIT_SI, Compression
from cnnpc.planner import MODE_LABELS, LinkOptions, Planner, planner_for
from cnnpc.profiles import Profile, list_profiles, load_profile


def add_link_arguments(
    p: argparse.ArgumentParser,
    bandwidth_type: Callable[[str], Any] = rate_mbps,
    bandwidth_help: str = "edge->cloud Mbps",
    bandwidth_default: float | None = None,
) -> None:
    """Options every command that prices plans shares (plan, search, sweep...)."""
    p.add_argument("--model", required=True, help="model name (see 'cnnpc profiles')")
    p.add_argument("--device", required=True, help="end device profile, e.g. MI8 or MI8SE")
    p.add_argument(
        "--bandwidth",
        required=bandwidth_default is None,
        default=bandwidth_default,
        type=bandwidth_type,
        metavar="MBPS",
        help=bandwidth_help,
    )
    p.add_argument(
        "--uplink", type=rate_mbps, default=20.0, metavar="MBPS", help="end->edge Mbps (20)"
    )
    p.add_argument(
        "--uplink-latency",
        type=time_ms,
        default=0.0,
        metavar="MS",
        help="end->edge one-way latency; a plan using the link pays it there and back (0)",
    )
    p.add_argument(
        "--latency",
        type=time_ms,
        default=0.0,
        metavar="MS",
        help="edge->cloud one-way latency; a plan using the link pays it there and back (0)",
    )
    p.add_argument(
        "--conventions",
        choices=("si", "cnnpc"),
        default="si",
        help="si: 1 Mbps = 10^6 bit/s (default); cnnpc: the unit CNNPC's published tables use "
        "(2^20 bit/s for mobilenet), to reproduce its numbers",
    )
    p.add_argument(
        "--overhead-ms",
        type=time_ms,
        default=None,
        metavar="MS",
        help="fixed per-inference overhead (default 1.66 = CNNPC's 0.53 + 1.13)",
    )
    p.add_argument(
        "--prune-compute",
        choices=("none", "linear"),
        default="none",
        help="none: pruning shrinks transfers only (CNNPC); linear: a segment's time also "
        "scales by the mean kept fraction of its input and output tensors",
    )


def link_options(args: argparse.Namespace) -> LinkOptions:
    """The options of add_link_arguments (all but --bandwidth) as the one object commands pass."""
    return LinkOptions(
        uplink_mbps=args.uplink,
        uplink_latency_ms=args.uplink_latency,
        latency_ms=args.latency,
        conventions=args.conventions,
        overhead_ms=args.overhead_ms,
        prune_compute=args.prune_compute,
    )


def links_report(planner: Planner) -> dict[str, float]:
    """The links a planner prices with, for JSON output."""
    links = planner.links
    return {
        "uplink_mbps": links.uplink_mbps,
        "bandwidth_mbps": links.bandwidth_mbps,
        "mbit_bits": links.mbit_bits,
        "uplink_latency_ms": links.uplink_latency_ms,
        "latency_ms": links.latency_ms,
        "uplink_message_ms": links.uplink_message_ms,  # from a calibrated profile, else 0
        "message_ms": links.message_ms,
    }


def describe_links(links: dict[str, float]) -> str:
    """One line naming both links (rates, and latencies where not 0)."""
    unit = "10^6" if links["mbit_bits"] == MBIT_SI else f"{links['mbit_bits']:,.0f}"

    def one(rate: float, latency: float) -> str:
        return f"{rate:g} Mbps" + (f" + {latency:g} ms one-way" if latency else "")

    return (
        f"end->edge {one(links['uplink_mbps'], links['uplink_latency_ms'])}, "
        f"edge->cloud {one(links['bandwidth_mbps'], links['latency_ms'])} (1 Mbps = {unit} bit/s)"
    )


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
    compression = Compression.from_fractions(profile, args.keep)
    best = planner.best(compression)
    baselines = planner.baselines(compression)
    single_tier = min(
        (baselines[k] for k in ("end_only", "edge_only", "cloud_only")), key=lambda p: p.latency_ms
    )
    report: dict[str, Any] = {
        "model": profile.model,
        "device": profile.device,
        "stand_in": profile.stand_in,
        "links": links_report(planner),
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
        from cnnpc.cli._plan_layer import run_layer_plan

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
