"""Heartbeats on claims, and the fine-tune epochs of a search as a column.

A claim's holder renews `heartbeat_at` (the database's clock, so every host agrees) while it
works; a claim whose heartbeat is older than the grace period is taken over, on any host. Claims
held when the database is upgraded get their creation time as their last heartbeat.
`cnnpc_searches.epochs` stores the fine-tune epochs the search ran with; searches stored before
it get the count their budget key (``epochs=N,...``, the only format cnnpc ever wrote) names.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _epochs(budget_key: str) -> int | None:
    head = budget_key.split(",", 1)[0]
    name, _, value = head.partition("=")
    return int(value) if name == "epochs" and value.isdigit() else None


def upgrade() -> None:
    with op.batch_alter_table("cnnpc_claims") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE cnnpc_claims SET heartbeat_at = created_at")
    with op.batch_alter_table("cnnpc_claims") as batch:
        batch.alter_column("heartbeat_at", existing_type=sa.DateTime(), nullable=False)
        batch.create_index("ix_cnnpc_claims_owner", ["owner"])

    with op.batch_alter_table("cnnpc_searches") as batch:
        batch.add_column(sa.Column("epochs", sa.Integer(), nullable=True))
    searches = sa.table(
        "cnnpc_searches",
        sa.column("id", sa.Integer()),
        sa.column("budget_key", sa.String()),
        sa.column("epochs", sa.Integer()),
    )
    connection = op.get_bind()
    for search_id, budget_key in connection.execute(
        sa.select(searches.c.id, searches.c.budget_key)
    ).all():
        epochs = _epochs(str(budget_key))
        if epochs is not None:
            connection.execute(
                searches.update().where(searches.c.id == search_id).values(epochs=epochs)
            )


def downgrade() -> None:
    with op.batch_alter_table("cnnpc_searches") as batch:
        batch.drop_column("epochs")
    with op.batch_alter_table("cnnpc_claims") as batch:
        batch.drop_index("ix_cnnpc_claims_owner")
        batch.drop_column("heartbeat_at")
