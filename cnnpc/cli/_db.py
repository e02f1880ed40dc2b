"""`cnnpc db upgrade` / `cnnpc db current`: the results database's schema.

The storage layer (SQLAlchemy, Alembic) is imported inside the commands, so building the
parser stays instant.
"""

from __future__ import annotations

import argparse

from cnnpc.cli._common import command, output, record_from
from cnnpc.jobs import StorageChoice


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
    help_up = "create or upgrade cnnpc's tables to the newest schema"
    command(actions, "upgrade", StorageChoice, run_upgrade, json_help=None, help=help_up)
    help_current = "print the schema revision of the database"
    command(actions, "current", StorageChoice, run_current, help=help_current)


def run_upgrade(args: argparse.Namespace) -> int:
    from cnnpc.jobs import upgrade_schema

    print(upgrade_schema(record_from(StorageChoice, args).storage))
    return 0


def run_current(args: argparse.Namespace) -> int:
    from cnnpc.jobs import schema_state

    state = schema_state(record_from(StorageChoice, args).storage)
    return output(args.json, state.as_dict(), state.text)
