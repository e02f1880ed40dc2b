"""`cnnpc accuracy export|import`: the shared accuracy cache as a CSV table, and back."""

from __future__ import annotations

import argparse

from cnnpc.cli._common import command, output, record_from
from cnnpc.jobs import AccuracyExport, AccuracyImport


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "accuracy",
        help="export the measured accuracies as a CSV table, or import one",
        description="Accuracy tables: every configuration measured for a model (kept channels "
        "per candidate, validation and test accuracy, workload, fine-tune budget, seconds). "
        "Search and sweep can take accuracies only from a table: --accuracy table:FILE.",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    command(
        verbs,
        "export",
        AccuracyExport,
        run_export,
        help="write a model's measured accuracies to FILE.csv",
    )
    command(
        verbs,
        "import",
        AccuracyImport,
        run_import,
        help="load FILE.csv into the database's shared accuracy cache (all or nothing)",
    )


def run_export(args: argparse.Namespace) -> int:
    from cnnpc.jobs import export_accuracies, exported_text

    report = export_accuracies(record_from(AccuracyExport, args))
    return output(args.json, report, lambda: exported_text(report))


def run_import(args: argparse.Namespace) -> int:
    from cnnpc.jobs import import_accuracies, imported_text

    report = import_accuracies(record_from(AccuracyImport, args))
    return output(args.json, report, lambda: imported_text(report))
