"""`cnnpc db upgrade` / `cnnpc db current`, and the `--storage` option every stored command takes.

The storage layer (SQLAlchemy, Alembic) is imported inside the commands, so building the
parser stays instant.
"""

from __future__ import annotations

import argparse

from cnnpc.cli._common import add_storage_argument, print_json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "db",
        help="create, upgrade or inspect the results database schema",
        description="cnnpc's tables are migrated with Alembic (version table "
        "cnnpc_alembic_version; Optuna's own tables in the same database keep alembic_version). "
        "An empty database is set up on first use; 'upgrade' brings an older one to this "
        "cnnpc's schema.",
    )
    actions = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="create or upgrade cnnpc's tables to the newest schema")
    add_storage_argument(up)
    up.set_defaults(func=run_upgrade)
    cur = actions.add_parser("current", help="print the schema revision of the database")
    add_storage_argument(cur)
    cur.add_argument("--json", action="store_true", help="print one JSON object")
    cur.set_defaults(func=run_current)


def run_upgrade(args: argparse.Namespace) -> int:
    from cnnpc.storage import Storage, resolve_url

    with Storage(resolve_url(args.storage), ensure_schema=False) as storage:
        before, head = storage.upgrade()
        where = storage.display_url
    if before == head:
        print(f"{where}: already at revision {head} (newest)")
    else:
        print(f"{where}: upgraded from {before or 'empty'} to revision {head} (newest)")
    return 0


def run_current(args: argparse.Namespace) -> int:
    from cnnpc.storage import Storage, StorageError, resolve_url

    with Storage(resolve_url(args.storage), create=False, ensure_schema=False) as storage:
        current = storage.current_revision()
        head = storage.head_revision()
        where = storage.display_url
    if current is not None and current not in Storage.known_revisions():
        raise StorageError(f"database schema {current} is newer than this cnnpc; upgrade cnnpc")
    if current is None:
        state = "empty"
        note = "no cnnpc tables yet; 'cnnpc db upgrade' or the first search creates them"
    elif current == head:
        state, note = "current", "newest schema"
    else:
        state, note = "outdated", f"run 'cnnpc db upgrade' to reach {head}"
    if args.json:
        print_json({"storage": where, "revision": current, "head": head, "state": state})
    else:
        print(f"{where}: revision {current or '-'} ({note})")
    return 0
