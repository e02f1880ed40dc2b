"""Work claims: which worker is fine-tuning a configuration (or enqueuing trial 0) right now.

Several `cnnpc search` processes may share one search; a claim row, inserted under a unique key,
lets exactly one of them do a piece of work while the others wait for its result.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cnnpc_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cnnpc_claims")),
        sa.UniqueConstraint("name", name=op.f("uq_cnnpc_claims_name")),
    )


def downgrade() -> None:
    op.drop_table("cnnpc_claims")
