"""`cnnpc plan` (the best plan for a fixed compression, with baselines) and `cnnpc profiles`."""

from __future__ import annotations

import argparse

from cnnpc.cli._common import add_link_arguments, budget_ms, keep_spec, link_options, output


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


def run_plan(args: argparse.Namespace) -> int:
    from cnnpc.jobs import plan, plan_text

    report = plan(
        *(args.model, args.device, args.bandwidth, link_options(args), args.keep),
        *(args.latency_budget, args.granularity),
    )
    return output(args.json, report, lambda: plan_text(report))


def run_profiles(args: argparse.Namespace) -> int:
    from cnnpc.jobs import profiles, profiles_text

    found = profiles()
    return output(args.json, found, lambda: profiles_text(found))
