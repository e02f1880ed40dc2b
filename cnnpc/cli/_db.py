"""`cnnpc db upgrade` / `cnnpc db current`, and the `--storage` option every stored command takes.

The storage layer (SQLAlchemy, Alembic) is imported inside the commands, so building the
parser stays instant.
"""

from __future__ import annotations

import argparse

from cnnpc.cli._common import add_storage_argument, output


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
    from cnnpc.jobs import upgrade_schema

    print(upgrade_schema(args.storage))
    return 0


def run_current(args: argparse.Namespace) -> int:
    from cnnpc.jobs import schema_state

    state = schema_state(args.storage)
    return output(args.json, state.as_dict(), state.text)
