"""Where accuracies come from: a fine-tuning source behind the shared, SQL-backed cache.

The cache key is (model, workload, fine-tune budget, configuration), so a search at another
bandwidth, device or floor re-uses every accuracy already measured, and no configuration is ever
fine-tuned twice.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from cnnpc.records import KeepConfig, Origin, keep_key, parse_keep_key
from cnnpc.search._configs import Config
from cnnpc.search._workers import Liveness, Pulse, this_worker

if TYPE_CHECKING:
    from cnnpc.storage import CachedAccuracy, CacheEntry


@dataclass(frozen=True)
class Measurement:
    """What one fine-tune of a configuration yields."""

    val_accuracy: float
    test_accuracy: float
    finetune_seconds: float
    params: int
    flops: int
    origin: Origin = field(default_factory=Origin)
    """Where it came from (a fine-tune, a table row, a supernet estimate)."""


class AccuracySource(Protocol):
    """Fine-tunes a configuration and measures it (the expensive part).

    Each source declares what it can do, so no caller guesses from its class: `trains`, whether
    asking it costs a fine-tune (an accuracy table looks rows up, a supernet estimates; only then
    is a measurement counted against a fine-tune budget); `table_file`, the accuracy table it
    reads (a configuration not in it is `Unmeasured`, never tuned) and `table_rows`, the
    configurations it holds (a search on it draws from them); `confirms_with`, the
    fine-tuning source whose measurements confirm its estimates (a search on them then skips
    no trial by its surrogate: every estimate is a candidate to confirm).
    """

    trains: bool

    @property
    def table_file(self) -> str | None:
        """The accuracy table its accuracies are rows of (None: it measures or estimates)."""
        ...

    @property
    def table_rows(self) -> tuple[KeepConfig, ...] | None:
        """The configurations the table holds (None: any configuration can be measured)."""
        ...

    @property
    def confirms_with(self) -> AccuracySource | None:
        """The source that confirms its answer by fine-tuning (None: its accuracies stand)."""
        ...

    @property
    def workload(self) -> str: ...

    @property
    def budget_key(self) -> str: ...

    @property
    def epochs(self) -> int | None:
        """Fine-tune epochs per configuration (stored with the search; None: not epochs)."""
        ...

    def measure(self, config: Mapping[str, float]) -> Measurement: ...


class CacheStore(Protocol):
    """The part of the storage layer the cache needs (cnnpc.storage.Storage has it)."""

    def get_cached_accuracy(
        self, model: str, workload: str, budget_key: str, config_key: str
    ) -> CachedAccuracy | None: ...

    def put_cached_accuracy(self, entry: CacheEntry) -> CachedAccuracy: ...

    def cached_accuracies(
        self, model: str, workload: str, budget_key: str
    ) -> list[CachedAccuracy]: ...

    def try_claim(
        self, name: str, owner: str, *, take_over_after_s: float | None = None
    ) -> bool: ...

    def release_claim(self, name: str, owner: str) -> bool: ...

    def renew_claims(self, owner: str) -> int: ...


class CachedAccuracies:
    """Accuracy lookups that fine-tune only on a miss and remember the result in the database."""

    def __init__(
        self,
        model: str,
        source: AccuracySource,
        store: CacheStore,
        liveness: Liveness | None = None,
    ) -> None:
        self.model = model
        self.source = source
        self.store = store
        self.liveness = liveness or Liveness()
        self.finetunes = 0
        self.poll_s = 0.25
        """How often a worker waiting for another's fine-tune looks again."""

    def _row_to_measurement(self, row: CachedAccuracy) -> Measurement:
        return Measurement(
            val_accuracy=row.val_accuracy,
            test_accuracy=row.val_accuracy if row.test_accuracy is None else row.test_accuracy,
            finetune_seconds=row.finetune_seconds or 0.0,
            params=row.params or 0,
            flops=row.flops or 0,
            origin=row.origin,
        )

    def lookup(self, config: Mapping[str, float]) -> Measurement | None:
        row = self.store.get_cached_accuracy(
            self.model, self.source.workload, self.source.budget_key, keep_key(config)
        )
        return None if row is None else self._row_to_measurement(row)

    def measure(self, config: Mapping[str, float]) -> tuple[Measurement, bool]:
        """(measurement, whether this worker spent a fine-tune on it now).

        Workers sharing the database never fine-tune the same configuration at once: the one
        that claims it measures, renewing the claim's heartbeat from a background thread while
        it does; the others wait for its row, and take the claim over when its heartbeat is
        older than the grace period (its holder died, on whatever host).
        """
        key = keep_key(config)
        claim = f"accuracy:{self.model}|{self.source.workload}|{self.source.budget_key}|{key}"
        while True:
            cached = self.lookup(config)
            if cached is not None:
                return cached, False
            me = this_worker()
            if self.store.try_claim(claim, me, take_over_after_s=self.liveness.grace_s):
                try:
                    cached = self.lookup(config)  # finished between our lookup and our claim
                    if cached is not None:
                        return cached, False
                    renew = functools.partial(self.store.renew_claims, me)
                    with Pulse(renew, self.liveness.heartbeat_s, "cnnpc-claim-heartbeat"):
                        return self._measure_now(config, key), True
                finally:
                    self.store.release_claim(claim, me)
            time.sleep(self.poll_s)

    def _measure_now(self, config: Mapping[str, float], key: str) -> Measurement:
        result = self.source.measure(config)
        if self.source.trains:  # an accuracy table looks up, never trains
            self.finetunes += 1
        from cnnpc.storage import CacheEntry

        entry = CacheEntry(
            *(self.model, self.source.workload, self.source.budget_key, key),
            *(result.val_accuracy, result.test_accuracy, result.finetune_seconds),
            *(result.params, result.flops, result.origin),
        )
        row = self.store.put_cached_accuracy(entry)
        return self._row_to_measurement(row)

    def known(self) -> dict[str, tuple[Config, float]]:
        """Every measured configuration: key -> (configuration, validation accuracy)."""
        rows = self.store.cached_accuracies(
            self.model, self.source.workload, self.source.budget_key
        )
        return {r.config_key: (parse_keep_key(r.config_key), r.val_accuracy) for r in rows}
