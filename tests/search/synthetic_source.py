"""A deterministic accuracy source (no TensorFlow) so the search logic is tested in seconds."""

from __future__ import annotations

from collections.abc import Mapping

from cnnpc.search import Measurement

PENALTY = {  # accuracy lost at keep fraction f: weight * (1 - f) ** 2
    "conv1": 0.30,
    "block1": 0.25,
    "block3": 0.20,
    "block6": 0.15,
    "block10": 0.10,
    "block13": 0.08,
    "block16": 0.05,
}


class SyntheticSource:
    """Accuracy falls smoothly with pruning; counts how often it is asked to fine-tune."""

    workload = "synthetic"
    epochs = None
    trains = True
    table_file = None
    table_rows = None
    confirms_with = None

    def __init__(self, baseline: float = 0.97, budget_key: str = "synthetic-v1") -> None:
        self.baseline = baseline
        self.budget_key = budget_key
        self.calls: list[dict[str, float]] = []

    def accuracy(self, config: Mapping[str, float]) -> float:
        return self.baseline - sum(PENALTY[k] * (1 - v) ** 2 for k, v in config.items())

    def measure(self, config: Mapping[str, float]) -> Measurement:
        self.calls.append(dict(config))
        acc = self.accuracy(config)
        return Measurement(
            val_accuracy=acc,
            test_accuracy=acc - 0.005,
            finetune_seconds=0.01,
            params=1000,
            flops=2000,
        )
