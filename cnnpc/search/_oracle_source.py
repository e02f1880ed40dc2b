"""Adapter: the compression issue's AccuracyOracle as the search's AccuracySource.

The search's shared SQL cache sits in front of it, keyed by workload and budget_key; the budget key
names everything besides the configuration that changes an accuracy (the baseline weights, the data,
the fine-tune budget, the seed), so that no two different measurements share a key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from cnnpc.records import CandidateBytes, Origin, split_config
from cnnpc.search._measure import Measurement

if TYPE_CHECKING:
    from cnnpc.oracle import AccuracyOracle


class OracleSource:
    """Fine-tunes through an `AccuracyOracle` (imports TensorFlow when built)."""

    trains = True
    table_file = None
    table_rows = None
    confirms_with = None
    """Its accuracies are fine-tuned: they stand as they are."""

    def __init__(self, oracle: AccuracyOracle) -> None:
        self.oracle = oracle
        identity = {
            "baseline": oracle.baseline.key,
            "data": oracle.workload.fingerprint,
            "budget": oracle.budget.as_dict(),
            "seed": oracle.seed,
        }
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
        budget = oracle.budget
        self._budget_key = f"epochs={budget.epochs},seed={oracle.seed},id={digest}"
        self._epochs = int(budget.epochs)
        self._workload = str(oracle.workload.name)

    @property
    def workload(self) -> str:
        return self._workload

    @property
    def budget_key(self) -> str:
        return self._budget_key

    @property
    def epochs(self) -> int:
        return self._epochs

    def measure(self, config: Mapping[str, float]) -> Measurement:
        """`config` fine-tuned with its split tensors' bit widths (its ``NAME@bits`` entries,
        `cnnpc.records.split_config`) through the codec; int8 where it gives none."""
        fractions, bits = split_config(config)
        result = self.oracle.evaluate(fractions, bits)
        return Measurement(
            val_accuracy=result.val_accuracy,
            test_accuracy=result.test_accuracy,
            finetune_seconds=result.finetune_seconds,
            params=result.params,
            flops=result.flops,
            origin=Origin.finetuned(
                result.keep,
                tuple(CandidateBytes(c.name, c.channels, c.bytes) for c in result.candidates),
            ),
        )


def oracle_source(
    model: str,
    *,
    epochs: int | None = None,
    seed: int = 0,
    data: str | None = None,
    weights: str | None = None,
    progress: bool = True,
    finetune_progress: bool = False,
) -> OracleSource:
    """The default source: `model` on the digits workload (or the user's data / weights).
    `progress`: a bar while the baseline trains; `finetune_progress`: one per fine-tune."""
    from cnnpc.compression import FinetuneBudget
    from cnnpc.oracle import open_oracle

    budget = FinetuneBudget() if epochs is None else FinetuneBudget(epochs=epochs)
    oracle = open_oracle(
        model,
        data=data,
        weights=weights,
        budget=budget,
        seed=seed,
        progress=progress,
        finetune_progress=finetune_progress,
    )
    return OracleSource(oracle)
