"""`Storage`: searches, trials, the shared accuracy cache and best plans in one SQL database.

Every method opens one session scope (commit / rollback / close) and returns frozen records.
Methods that may race with another worker read before they write and are re-run on a lost
race, so two processes on one search neither fail nor duplicate a row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cnnpc.errors import InputError
from cnnpc.storage import _schema
from cnnpc.storage._claims import Claim, delete_claim, insert_claim, read_claim, renew_claims
from cnnpc.storage._convert import (
    best_plan_record,
    cached_accuracy,
    search_record,
    trial_record,
)
from cnnpc.storage._engine import make_engine, retrying, session_scope
from cnnpc.storage._errors import NoDatabaseError, StorageConflictError, StorageError
from cnnpc.storage._models import (
    AccuracyCacheModel,
    BestPlanModel,
    SearchModel,
    TrialModel,
    utcnow,
)
from cnnpc.storage._plan import BestPlan
from cnnpc.storage._queries import (
    best_row,
    cache_query,
    measured_query,
    pareto,
    search_row,
    summarize,
    trial_order,
)
from cnnpc.storage._records import (
    BestPlanRecord,
    CachedAccuracy,
    SearchRecord,
    SearchSpec,
    SearchSummary,
    TrialInput,
    TrialRecord,
    check_status,
    json_value,
)
from cnnpc.storage._url import display_url, optuna_engine_kwargs, sqlite_path

if TYPE_CHECKING:
    from cnnpc.storage._cache_io import CacheEntry, ImportCount

TrialSort = Literal["latency", "accuracy", "number"]
TRIAL_SORTS: tuple[str, ...] = ("latency", "accuracy", "number")


class Storage:
    """cnnpc's tables in the database at `url` (any SQLAlchemy URL; Optuna shares it).

    create=False refuses a SQLite file that does not exist yet (browsing commands should not
    leave an empty database behind a typo). ensure_schema=False skips creating/checking the
    schema (for `cnnpc db current` / `cnnpc db upgrade`).
    """

    def __init__(self, url: str, *, create: bool = True, ensure_schema: bool = True) -> None:
        self._url = url
        path = sqlite_path(url)
        if path is not None and not path.exists():  # sqlite_path: absent or a regular file
            if not create:
                raise NoDatabaseError(
                    f"no cnnpc database at {path} (run 'cnnpc search' first, or name "
                    "another with --storage or CNNPC_STORAGE)"
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create {path.parent}: {exc.strerror}") from None
        self._engine = make_engine(url)
        self._factory = sessionmaker(bind=self._engine, expire_on_commit=False)
        if ensure_schema:
            try:
                _schema.check_schema(self._engine, url)
            except BaseException:
                self._engine.dispose()
                raise

    # -- plumbing -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL as given (password included): pass it to optuna.storages.RDBStorage."""
        return self._url

    @property
    def display_url(self) -> str:
        """The URL with the password masked, for messages."""
        return display_url(self._url)

    def optuna_engine_kwargs(self) -> dict[str, Any]:
        """engine_kwargs for optuna.storages.RDBStorage(self.url, engine_kwargs=...)."""
        return optuna_engine_kwargs(self._url)

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """The one transaction boundary: commit, or roll back and raise a StorageError."""
        with session_scope(self._factory, self._url) as session:
            yield session

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema to head; return (revision before, head)."""
        return _schema.upgrade(self._engine, self._url)

    def current_revision(self) -> str | None:
        """The schema revision in the database (None: cnnpc's tables do not exist yet)."""
        return _schema.current_revision(self._engine, self._url)

    @staticmethod
    def head_revision() -> str:
        """The newest schema revision this cnnpc knows."""
        return _schema.head_revision()

    @staticmethod
    def known_revisions() -> list[str]:
        """Every schema revision this cnnpc knows, newest first."""
        return _schema.known_revisions()

    # -- searches -------------------------------------------------------------------------

    @retrying()
    def get_or_create_search(self, spec: SearchSpec) -> SearchRecord:
        """The search for `spec` (same fields but code_version: resumed), created if new."""
        spec = spec.validated()
        key = spec.key()
        with self.session_scope() as session:
            row = session.scalars(select(SearchModel).where(SearchModel.spec_key == key)).first()
            if row is None:
                now = utcnow()
                row = SearchModel(
                    spec_key=key,
                    study_name=f"cnnpc-new-{key}",
                    model=spec.model,
                    device=spec.device,
                    workload=spec.workload,
                    links=spec.links,
                    mode=spec.mode,
                    target=spec.target,
                    strategy=spec.strategy,
                    seed=spec.seed,
                    budget_key=spec.budget_key,
                    epochs=spec.epochs,
                    code_version=spec.code_version,
                    extra=spec.extra,
                    status="running",
                    message=None,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
                session.flush()  # assigns the id the study name is made of
                row.study_name = f"cnnpc-{row.id}"
                session.flush()
            return search_record(row)

    @retrying()
    def set_search_status(
        self, search_id: int, status: str, message: str | None = None
    ) -> SearchRecord:
        check_status(status)
        with self.session_scope() as session:
            row = search_row(session, search_id)
            row.status = status
            row.message = message
            row.updated_at = utcnow()
            session.flush()
            return search_record(row)

    def get_search(self, search_id: int) -> SearchRecord:
        with self.session_scope() as session:
            return search_record(search_row(session, search_id))

    def list_searches(self) -> list[SearchRecord]:
        with self.session_scope() as session:
            rows = session.scalars(select(SearchModel).order_by(SearchModel.id)).all()
            return [search_record(r) for r in rows]

    # -- trials ---------------------------------------------------------------------------

    @retrying()
    def record_trial(self, search_id: int, record: TrialInput) -> TrialRecord:
        """Insert or update (by Optuna number) one trial of a search."""
        columns = record.columns()
        with self.session_scope() as session:
            search = search_row(session, search_id)
            row = session.scalars(
                select(TrialModel).where(
                    TrialModel.search_id == search_id,
                    TrialModel.optuna_number == record.optuna_number,
                )
            ).first()
            now = utcnow()
            if row is None:
                row = TrialModel(search_id=search_id, updated_at=now, **columns)
                session.add(row)
            else:
                for name, value in columns.items():
                    setattr(row, name, value)
                row.updated_at = now
            search.updated_at = now
            session.flush()
            return trial_record(row)

    def list_trials(
        self,
        search_id: int,
        feasible_only: bool = False,
        sort: TrialSort | str = "number",
        limit: int | None = None,
    ) -> list[TrialRecord]:
        """A search's trials; latency ascending / accuracy descending keep unknowns last."""
        if sort not in TRIAL_SORTS:
            raise InputError(f"sort must be one of {', '.join(TRIAL_SORTS)}, got {sort!r}")
        if limit is not None and limit < 1:
            raise InputError(f"limit must be >= 1, got {limit}")
        query = select(TrialModel).where(TrialModel.search_id == search_id)
        if feasible_only:
            query = query.where(TrialModel.feasible.is_(True))
        query = query.order_by(*trial_order(sort)).limit(limit)
        with self.session_scope() as session:
            search_row(session, search_id)
            return [trial_record(r) for r in session.scalars(query).all()]

    def get_trial(self, search_id: int, optuna_number: int) -> TrialRecord | None:
        with self.session_scope() as session:
            search_row(session, search_id)
            row = session.scalars(
                select(TrialModel).where(
                    TrialModel.search_id == search_id,
                    TrialModel.optuna_number == optuna_number,
                )
            ).first()
            return None if row is None else trial_record(row)

    def pareto_front(self, search_id: int) -> list[TrialRecord]:
        """Complete trials no other complete trial beats on both latency and accuracy.

        Sorted by latency; a re-suggested configuration (same latency and accuracy) once.
        """
        with self.session_scope() as session:
            search_row(session, search_id)
            rows = session.scalars(measured_query(search_id)).all()
            return pareto([trial_record(r) for r in rows])

    def best_trial(self, search_id: int) -> TrialRecord | None:
        """The best feasible complete trial by the search's own objective (the one query for
        it: search, summaries, export and upload-plan all ask here)."""
        with self.session_scope() as session:
            row = best_row(session, search_row(session, search_id))
            return None if row is None else trial_record(row)

    def summary(self, search_id: int) -> SearchSummary:
        with self.session_scope() as session:
            search = search_row(session, search_id)
            return summarize(session, [search])[0]

    def summaries(self) -> list[SearchSummary]:
        """Every search with its spend and best trial (one line of `cnnpc searches`)."""
        with self.session_scope() as session:
            searches = session.scalars(select(SearchModel).order_by(SearchModel.id)).all()
            return summarize(session, list(searches))

    # -- accuracy cache ---------------------------------------------------------------------

    def get_cached_accuracy(
        self, model: str, workload: str, budget_key: str, config_key: str
    ) -> CachedAccuracy | None:
        with self.session_scope() as session:
            row = session.scalars(
                cache_query(model, workload, budget_key).where(
                    AccuracyCacheModel.config_key == config_key
                )
            ).first()
            return None if row is None else cached_accuracy(row)

    @retrying()
    def put_cached_accuracy(self, entry: CacheEntry) -> CachedAccuracy:
        """Store a measured accuracy; if the key is already there, that first row wins."""
        columns = entry.columns()
        with self.session_scope() as session:
            row = session.scalars(
                cache_query(entry.model, entry.workload, entry.budget_key).where(
                    AccuracyCacheModel.config_key == entry.config_key
                )
            ).first()
            if row is None:
                row = AccuracyCacheModel(created_at=utcnow(), **columns)
                session.add(row)
                session.flush()
            return cached_accuracy(row)

    def cached_accuracies(self, model: str, workload: str, budget_key: str) -> list[CachedAccuracy]:
        """Every accuracy measured for this model, workload and budget, oldest first."""
        with self.session_scope() as session:
            rows = session.scalars(
                cache_query(model, workload, budget_key).order_by(AccuracyCacheModel.id)
            ).all()
            return [cached_accuracy(r) for r in rows]

    def accuracy_rows(self, model: str, workload: str | None = None) -> list[CachedAccuracy]:
        """Every cached accuracy of `model` (one workload or all): `cnnpc accuracy export`."""
        from cnnpc.storage._cache_io import rows_of

        with self.session_scope() as session:
            return rows_of(session, model, workload)

    def import_accuracies(self, entries: Sequence[CacheEntry]) -> ImportCount:
        """Add many cached accuracies in one transaction: all of them, or none on a conflict."""
        from cnnpc.storage._cache_io import import_entries

        with self.session_scope() as session:
            return import_entries(session, entries)

    # -- claims (several workers on one search) ---------------------------------------------

    @retrying()
    def try_claim(self, name: str, owner: str, *, take_over_after_s: float | None = None) -> bool:
        """Take the claim `name` for `owner`; False when another worker holds it.

        With `take_over_after_s`, a claim whose holder has not renewed it for that long (by
        the database's clock) is taken over, in the same transaction.
        """
        if take_over_after_s is not None and not take_over_after_s > 0:
            raise InputError(f"take_over_after_s must be > 0, got {take_over_after_s!r}")
        try:
            with self.session_scope() as session:
                insert_claim(session, name, owner, take_over_after_s)
        except StorageConflictError:
            return False
        return True

    @retrying()
    def renew_claims(self, owner: str) -> int:
        """Renew the heartbeat of every claim `owner` holds; return how many it holds."""
        with self.session_scope() as session:
            return renew_claims(session, owner)

    def get_claim(self, name: str) -> Claim | None:
        with self.session_scope() as session:
            return read_claim(session, name)

    @retrying()
    def release_claim(self, name: str, owner: str) -> bool:
        """Give the claim up (or break a dead holder's); True if a row went."""
        with self.session_scope() as session:
            return delete_claim(session, name, owner)

    # -- best plans -------------------------------------------------------------------------

    @retrying()
    def set_best_plan(self, search_id: int, plan: BestPlan) -> BestPlanRecord:
        """Store (replace) the search's best plan (its JSON form, ``plan.as_dict()``)."""
        body = json_value(plan.as_dict(), "best plan payload")
        trial_number = plan.trial
        with self.session_scope() as session:
            search = search_row(session, search_id)
            row = session.scalars(
                select(BestPlanModel).where(BestPlanModel.search_id == search_id)
            ).first()
            now = utcnow()
            if row is None:
                row = BestPlanModel(search_id=search_id, trial_number=trial_number)
                session.add(row)
            row.trial_number = trial_number
            row.payload = body
            row.updated_at = now
            search.updated_at = now
            session.flush()
            return best_plan_record(row)

    def get_best_plan(self, search_id: int) -> BestPlanRecord | None:
        with self.session_scope() as session:
            search_row(session, search_id)
            row = session.scalars(
                select(BestPlanModel).where(BestPlanModel.search_id == search_id)
            ).first()
            return None if row is None else best_plan_record(row)
