"""`cnnpc accuracy export|import`: the shared accuracy cache as a CSV table, and back."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnpc.cli._common import add_storage_argument, print_json


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
    out.add_argument("--workload", default=None, help="one workload (when there are several)")
    out.add_argument("--budget", default=None, metavar="KEY", help="one fine-tune budget key")
    add_storage_argument(out)
    out.add_argument("file", type=Path, metavar="FILE.csv")
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.set_defaults(func=run_export)
    into = verbs.add_parser(
        "import", help="load FILE.csv into the database's shared accuracy cache (all or nothing)"
    )
    into.add_argument("--model", default=None, help="refuse a table for another model")
    into.add_argument("--workload", default=None, help="refuse a table for another workload")
    add_storage_argument(into)
    into.add_argument("file", type=Path, metavar="FILE.csv")
    into.add_argument("--json", action="store_true", help="print one JSON object")
    into.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    from cnnpc._files import check_file_target
    from cnnpc.accuracy import export_table
    from cnnpc.storage import Storage, resolve_url

    check_file_target(args.file)  # before the database: a bad target leaves nothing opened
    with Storage(resolve_url(args.storage), create=False) as storage:  # it only reads
        done = export_table(
            storage, args.model, args.file, workload=args.workload, budget_key=args.budget
        )
    report = {
        "file": str(done.path),
        "model": done.model,
        "workload": done.workload,
        "budget_key": done.budget_key,
        "rows": done.rows,
    }
    if args.json:
        print_json(report)
    else:
        print(
            f"wrote {done.rows} configurations of {done.model} on {done.workload} "
            f"(budget {done.budget_key}) to {done.path}"
        )
    return 0


def run_import(args: argparse.Namespace) -> int:
    from cnnpc.accuracy import cache_entries, read_table
    from cnnpc.storage import Storage, display_url, resolve_url

    table = read_table(args.file, model=args.model, workload=args.workload)  # before any DB
    with Storage(resolve_url(args.storage)) as storage:
        count = storage.import_accuracies(cache_entries(table))
        url = display_url(storage.url)
    report = {
        "file": str(args.file),
        "model": table.model,
        "workload": table.workload,
        "budget_key": table.budget_key,
        "rows": len(table.rows),
        "added": count.added,
        "already_there": count.already_there,
        "storage": url,
    }
    if args.json:
        print_json(report)
    else:
        print(
            f"imported {count.added} configurations of {table.model} on {table.workload} "
            f"(budget {table.budget_key}) into {url}; {count.already_there} were already there"
        )
    return 0
