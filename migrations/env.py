"""Alembic environment of cnnpc's own tables (run by cnnpc.storage, or by `alembic -c`).

cnnpc.storage passes its open connection in ``config.attributes["connection"]``, inside a
transaction it commits itself. The version table is ``cnnpc_alembic_version`` and only
``cnnpc_*`` tables are compared, because Optuna's tables share the database.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import Connection

from cnnpc.storage._models import Base
from cnnpc.storage._schema import VERSION_TABLE


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate looks at cnnpc's tables only (never Optuna's or the version tables)."""
    if type_ == "table":
        return name is not None and name.startswith("cnnpc_") and name != VERSION_TABLE
    return True


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
        **kwargs,
    )


def run_online(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


config = context.config
if context.is_offline_mode():
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    run_online(given)
else:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    assert url, "pass -x url=... (or set sqlalchemy.url) to name the database to migrate"
    with create_engine(url, poolclass=pool.NullPool).connect() as connection:
        run_online(connection)
