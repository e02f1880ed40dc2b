"""SQLAlchemy 2 models of cnnpc's tables (the Alembic migrations in migrations/ create them).

Every table is prefixed ``cnnpc_`` because Optuna's RDB storage lives in the same database.
Times are stored as naive UTC (portable across SQLite and PostgreSQL) and read back aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cnnpc.records import LinkSetting

SEARCH_STATUSES = ("running", "finished", "infeasible", "failed")
TRIAL_STATES = ("complete", "pruned", "failed", "running")
MODES = ("acc_floor", "latency_budget")

# Named constraints, so later migrations (batch mode on SQLite) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive UTC in the column."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class LinkSettingType(TypeDecorator[LinkSetting]):
    """A search's links in one JSON column: `LinkSetting` in, `LinkSetting` out, its one JSON
    form (`as_dict`) in between, so no caller reassembles links from loose columns."""

    impl = JSON
    cache_ok = True

    def process_bind_param(
        self, value: LinkSetting | None, dialect: Dialect
    ) -> dict[str, float] | None:
        return None if value is None else value.as_dict()

    def process_result_value(self, value: object, dialect: Dialect) -> LinkSetting | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise TypeError(f"stored links must be a JSON object, got {type(value).__name__}")
        return LinkSetting.from_dict(value)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: UtcDateTime}


class SearchModel(Base):
    __tablename__ = "cnnpc_searches"
    __table_args__ = (
        CheckConstraint(_in("status", SEARCH_STATUSES), name="status"),
        CheckConstraint(_in("mode", MODES), name="mode"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # sha256 of the spec without code_version: the same request resumes the same search.
    spec_key: Mapped[str] = mapped_column(String(64), unique=True)
    study_name: Mapped[str] = mapped_column(String(128), unique=True)
    model: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(64))
    workload: Mapped[str] = mapped_column(String(64))
    # The links the search priced with: rates, latencies, unit and per-message costs.
    links: Mapped[LinkSetting] = mapped_column(LinkSettingType)
    mode: Mapped[str] = mapped_column(String(16))
    target: Mapped[float] = mapped_column(Float)
    strategy: Mapped[str] = mapped_column(String(32))
    seed: Mapped[int | None] = mapped_column(BigInteger)
    budget_key: Mapped[str] = mapped_column(String(256))
    epochs: Mapped[int | None] = mapped_column(Integer)
    code_version: Mapped[str] = mapped_column(String(64))
    # What else identifies the search (conventions' name, overhead, compute rule, keep grid,
    # the budget it confirms): never link settings, which are in `links`.
    extra: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    trials: Mapped[list[TrialModel]] = relationship(
        back_populates="search", cascade="all, delete-orphan", passive_deletes=True
    )


class TrialModel(Base):
    __tablename__ = "cnnpc_trials"
    __table_args__ = (
        UniqueConstraint("search_id", "optuna_number"),
        CheckConstraint(_in("state", TRIAL_STATES), name="state"),
        Index("ix_cnnpc_trials_search_state", "search_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    search_id: Mapped[int] = mapped_column(
        ForeignKey("cnnpc_searches.id", ondelete="CASCADE"), index=True
    )
    optuna_number: Mapped[int] = mapped_column(Integer)
    keep: Mapped[dict[str, Any]]
    # The chosen plan as the planner reports it; mode/splits/latency/traffic copied out of it
    # into columns so the history can be sorted and filtered in SQL.
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    plan_mode: Mapped[str | None] = mapped_column(String(32))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    traffic_bytes: Mapped[float | None] = mapped_column(Float)
    val_accuracy: Mapped[float | None] = mapped_column(Float)
    test_accuracy: Mapped[float | None] = mapped_column(Float)
    predicted_accuracy: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    feasible: Mapped[bool | None] = mapped_column(Boolean)
    finetuned: Mapped[bool] = mapped_column(Boolean)
    finetune_seconds: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    search: Mapped[SearchModel] = relationship(back_populates="trials")


class AccuracyCacheModel(Base):
    __tablename__ = "cnnpc_accuracy_cache"
    __table_args__ = (
        UniqueConstraint("model", "workload", "budget_key", "config_key"),
        Index("ix_cnnpc_accuracy_cache_cell", "model", "workload", "budget_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(64))
    workload: Mapped[str] = mapped_column(String(64))
    budget_key: Mapped[str] = mapped_column(String(256))
    config_key: Mapped[str] = mapped_column(String(1024))
    val_accuracy: Mapped[float] = mapped_column(Float)
    test_accuracy: Mapped[float | None] = mapped_column(Float)
    finetune_seconds: Mapped[float | None] = mapped_column(Float)
    params: Mapped[int | None] = mapped_column(BigInteger)
    flops: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class BestPlanModel(Base):
    __tablename__ = "cnnpc_best_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    search_id: Mapped[int] = mapped_column(
        ForeignKey("cnnpc_searches.id", ondelete="CASCADE"), unique=True
    )
    trial_number: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class ClaimModel(Base):
    """One piece of shared work a worker holds (see cnnpc/storage/_claims.py)."""

    __tablename__ = "cnnpc_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    owner: Mapped[str] = mapped_column(String(256), index=True)
    created_at: Mapped[datetime]
    # The database's clock (naive UTC), renewed by the holder while it works.
    heartbeat_at: Mapped[datetime]
