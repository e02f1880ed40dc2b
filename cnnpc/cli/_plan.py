"""`cnnpc plan` (the best plan for a fixed compression, with baselines) and `cnnpc profiles`."""

from __future__ import annotations

import argparse

from cnnpc.cli._common import command, output, record_from
from cnnpc.jobs import PlanJob


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command(
        sub,
        "plan",
        PlanJob,
        run_plan,
        help="best deployment of a model for a fixed compression, with baselines",
        description="Price every end/edge/cloud layout exactly and print the fastest, with the "
        "single-tier, best single-split (NeuroSurgeon) and best two-split baselines.",
    )
    q = sub.add_parser("profiles", help="list shipped models and end devices")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=run_profiles)


def run_plan(args: argparse.Namespace) -> int:
    from cnnpc.jobs import plan_job, plan_text

    report = plan_job(record_from(PlanJob, args), parts=not args.json)
    return output(args.json, report, lambda: plan_text(report))


def run_profiles(args: argparse.Namespace) -> int:
    from cnnpc.jobs import profiles, profiles_text

    found = profiles()
    return output(args.json, found, lambda: profiles_text(found))
