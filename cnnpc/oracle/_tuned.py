"""Fine-tuned models kept beside the accuracies: what `cnnpc deploy` ships is what was measured.

The oracle caches accuracies by configuration key; the weights of the model that gave an accuracy
are stored under the same key (``<cache root>/models/<key>.h5``). A model is rebuilt from the
baseline by the same pruning (deterministic: L1 channel choice) and the same TF-MOT wrapping as
the fine-tune, then the saved weights are loaded; a missing or damaged file means fine-tuning
again, which is deterministic per seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnpc._files import make_folder, write_with
from cnnpc.compression import FinetuneBudget, quantization_aware
from cnnpc.oracle._cache import key_file


class ModelStore:
    """Weights of fine-tuned models by oracle cache key, as legacy HDF5 files (layers only)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return key_file(self.directory, key, ".h5")

    def save(self, key: str, model: Any) -> Path:
        """Write `model`'s weights via a temporary file and a rename (readers never see half)."""
        path = self.path(key)
        make_folder(path.parent)
        return write_with(path, lambda tmp: model.save_weights(str(tmp)))

    def has(self, key: str) -> bool:
        """Whether weights are stored under `key` (they may still prove damaged on loading)."""
        return self.path(key).is_file()

    def load_into(self, key: str, model: Any) -> bool:
        """Load the weights saved under `key` into `model`; False if absent or unreadable."""
        if not self.has(key):
            return False
        path = self.path(key)
        try:
            model.load_weights(path)
        except (OSError, ValueError, KeyError):  # damaged or of another shape: fine-tune again
            return False
        return True


def tuned_architecture(pruned: Any, budget: FinetuneBudget) -> Any:
    """An untrained copy of the model `finetune` trains from `pruned` under `budget`.

    The same TF-MOT wrapping as ``cnnpc.compression.finetune`` (quantize_model, or the
    sparsity-preserving scheme after a sparsity phase; split quantizers, if `pruned` has them,
    annotated alike), so saved weights load by topology.
    """
    if not budget.quantize:
        return pruned
    return quantization_aware(pruned, budget.sparsity > 0)
