"""The supernet as the search's accuracy source: estimates in seconds, never a fine-tune.

Its cache cell is its own (budget key ``supernet:...`` names the supernet's weights), so an
estimate is never mixed with a fine-tuned accuracy, and every measurement it gives carries
a supernet `Origin` (`OriginKind.SUPERNET`): the trial attributes and rows say "estimated".
The fine-tuning source it was built beside (`finetune`) is what confirms a search's answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from cnnpc.records import Origin
from cnnpc.search import Measurement
from cnnpc.supernet._supernet import Supernet

if TYPE_CHECKING:
    from cnnpc.search import OracleSource


class SupernetSource:
    """Accuracies estimated by slicing a trained supernet (imports TensorFlow when built)."""

    trains = False
    """Estimates are not fine-tunes: they are not counted as such."""
    table_file = None
    table_rows = None

    def __init__(self, supernet: Supernet, finetune: OracleSource, seed: int) -> None:
        self.supernet = supernet
        self.finetune = finetune
        """The `OracleSource` whose fine-tunes confirm what the estimates rank first."""
        self._budget_key = f"supernet:seed={seed},id={supernet.key}"
        self.estimates = 0

    @property
    def confirms_with(self) -> OracleSource:
        return self.finetune

    @property
    def workload(self) -> str:
        return str(self.supernet.workload.name)

    @property
    def budget_key(self) -> str:
        return self._budget_key

    @property
    def epochs(self) -> int | None:
        return None

    def measure(self, config: Mapping[str, float]) -> Measurement:
        estimate = self.supernet.estimate(config)
        self.estimates += 1
        return Measurement(
            val_accuracy=estimate.val_accuracy,
            test_accuracy=estimate.test_accuracy,
            finetune_seconds=estimate.seconds,
            params=0,
            flops=0,
            origin=Origin.estimate(self.supernet.key, estimate.kept),
        )


def supernet_source(finetune: OracleSource) -> SupernetSource:
    """The baseline's supernet (trained once, cached beside it) as a source whose estimates
    `finetune` confirms: the same model, data, weights, budget and seed."""
    from cnnpc.oracle import default_cache_dir
    from cnnpc.supernet._supernet import trained_supernet

    oracle = finetune.oracle
    supernet = trained_supernet(
        oracle.baseline, oracle.workload, oracle.space, oracle.seed, default_cache_dir()
    )
    return SupernetSource(supernet, finetune, oracle.seed)
