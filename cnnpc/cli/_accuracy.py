"""`cnnpc accuracy export|import`: the shared accuracy cache as a CSV table, and back."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnpc.cli._common import add_storage_argument, output


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "accuracy",
        help="export the measured accuracies as a CSV table, or import one",
        description="Accuracy tables: every configuration measured for a model (kept channels "
        "per candidate, validation and test accuracy, workload, fine-tune budget, seconds). "
        "Search and sweep can take accuracies only from a table: --accuracy table:FILE.",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    out = verbs.add_parser("export", help="write a model's measured accuracies to FILE.csv")
    out.add_argument("--model", required=True)
    out.add_argument("--workload", help="one workload (when there are several)")
    out.add_argument("--budget", metavar="KEY", help="one fine-tune budget key")
    add_storage_argument(out)
    out.add_argument("file", type=Path, metavar="FILE.csv")
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.set_defaults(func=run_export)
    into = verbs.add_parser(
        "import", help="load FILE.csv into the database's shared accuracy cache (all or nothing)"
    )
    into.add_argument("--model", help="refuse a table for another model")
    into.add_argument("--workload", help="refuse a table for another workload")
    add_storage_argument(into)
    into.add_argument("file", type=Path, metavar="FILE.csv")
    into.add_argument("--json", action="store_true", help="print one JSON object")
    into.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    from cnnpc.jobs import export_accuracies, exported_text

    report = export_accuracies(args.storage, args.model, args.file, args.workload, args.budget)
    return output(args.json, report, lambda: exported_text(report))


def run_import(args: argparse.Namespace) -> int:
    from cnnpc.jobs import import_accuracies, imported_text

    report = import_accuracies(args.storage, args.file, args.model, args.workload)
    return output(args.json, report, lambda: imported_text(report))
