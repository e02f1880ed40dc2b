"""cnnpc's tables: searches, trials, the shared accuracy cache, best plans.

Revision ID: 0001
Revises:
Create Date: 2025-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cnnpc_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spec_key", sa.String(length=64), nullable=False),
        sa.Column("study_name", sa.String(length=128), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("workload", sa.String(length=64), nullable=False),
        sa.Column("uplink_mbps", sa.Float(), nullable=False),
        sa.Column("bandwidth_mbps", sa.Float(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("budget_key", sa.String(length=256), nullable=False),
        sa.Column("code_version", sa.String(length=64), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('running', 'finished', 'infeasible', 'failed')",
            name=op.f("ck_cnnpc_searches_status"),
        ),
        sa.CheckConstraint(
            "mode IN ('acc_floor', 'latency_budget')", name=op.f("ck_cnnpc_searches_mode")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cnnpc_searches")),
        sa.UniqueConstraint("spec_key", name=op.f("uq_cnnpc_searches_spec_key")),
        sa.UniqueConstraint("study_name", name=op.f("uq_cnnpc_searches_study_name")),
    )
    op.create_table(
        "cnnpc_trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("search_id", sa.Integer(), nullable=False),
        sa.Column("optuna_number", sa.Integer(), nullable=False),
        sa.Column("keep", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("plan_mode", sa.String(length=32), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("traffic_bytes", sa.Float(), nullable=True),
        sa.Column("val_accuracy", sa.Float(), nullable=True),
        sa.Column("test_accuracy", sa.Float(), nullable=True),
        sa.Column("predicted_accuracy", sa.Float(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("feasible", sa.Boolean(), nullable=True),
        sa.Column("finetuned", sa.Boolean(), nullable=False),
        sa.Column("finetune_seconds", sa.Float(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('complete', 'pruned', 'failed', 'running')",
            name=op.f("ck_cnnpc_trials_state"),
        ),
        sa.ForeignKeyConstraint(
            ["search_id"],
            ["cnnpc_searches.id"],
            name=op.f("fk_cnnpc_trials_search_id_cnnpc_searches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cnnpc_trials")),
        sa.UniqueConstraint("search_id", "optuna_number", name=op.f("uq_cnnpc_trials_search_id")),
    )
    op.create_index(op.f("ix_cnnpc_trials_search_id"), "cnnpc_trials", ["search_id"], unique=False)
    op.create_index(
        "ix_cnnpc_trials_search_state", "cnnpc_trials", ["search_id", "state"], unique=False
    )
    op.create_table(
        "cnnpc_accuracy_cache",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("workload", sa.String(length=64), nullable=False),
        sa.Column("budget_key", sa.String(length=256), nullable=False),
        sa.Column("config_key", sa.String(length=1024), nullable=False),
        sa.Column("val_accuracy", sa.Float(), nullable=False),
        sa.Column("test_accuracy", sa.Float(), nullable=True),
        sa.Column("finetune_seconds", sa.Float(), nullable=True),
        sa.Column("params", sa.BigInteger(), nullable=True),
        sa.Column("flops", sa.BigInteger(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cnnpc_accuracy_cache")),
        sa.UniqueConstraint(
            "model",
            "workload",
            "budget_key",
            "config_key",
            name=op.f("uq_cnnpc_accuracy_cache_model"),
        ),
    )
    op.create_index(
        "ix_cnnpc_accuracy_cache_cell",
        "cnnpc_accuracy_cache",
        ["model", "workload", "budget_key"],
        unique=False,
    )
    op.create_table(
        "cnnpc_best_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("search_id", sa.Integer(), nullable=False),
        sa.Column("trial_number", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["search_id"],
            ["cnnpc_searches.id"],
            name=op.f("fk_cnnpc_best_plans_search_id_cnnpc_searches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cnnpc_best_plans")),
        sa.UniqueConstraint("search_id", name=op.f("uq_cnnpc_best_plans_search_id")),
    )


def downgrade() -> None:
    op.drop_table("cnnpc_best_plans")
    op.drop_index("ix_cnnpc_accuracy_cache_cell", table_name="cnnpc_accuracy_cache")
    op.drop_table("cnnpc_accuracy_cache")
    op.drop_index("ix_cnnpc_trials_search_state", table_name="cnnpc_trials")
    op.drop_index(op.f("ix_cnnpc_trials_search_id"), table_name="cnnpc_trials")
    op.drop_table("cnnpc_trials")
    op.drop_table("cnnpc_searches")
