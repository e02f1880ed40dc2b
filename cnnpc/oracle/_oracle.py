"""The accuracy oracle: prune a configuration, fine-tune it, measure it; never twice.

``evaluate(config)`` takes keep fractions per candidate and returns validation and test accuracy,
fine-tune seconds, params, FLOPs and the bytes at every candidate. Configurations are normalised
to the channel counts they keep (0.5 and 0.52 of 16 channels are the same model), and the result
is cached under a key of that, the baseline weights, the workload data, the budget, the seed and
the fine-tune recipe's declared version (`FINETUNE_RECIPE`), so the same configuration is never
fine-tuned twice. Search decisions should read ``val_accuracy``; ``test_accuracy`` is for
reporting a final plan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from cnnpc.codec import SplitBits, split_bits
from cnnpc.compression import (
    FinetuneBudget,
    candidate_groups,
    channel_graph,
    finetune,
    group_fractions,
    insert_split_quantizers,
    prune_channels,
)
from cnnpc.models import ModelSize, TensorSize, measure, model_spec
from cnnpc.oracle._baseline import Baseline
from cnnpc.oracle._cache import MemoryCache, ResultCache
from cnnpc.oracle._recipes import FINETUNE_RECIPE
from cnnpc.oracle._tuned import ModelStore, tuned_architecture
from cnnpc.records import KeepConfig
from cnnpc.spaces import SearchSpace
from cnnpc.workloads import Workload, accuracy


@dataclass(frozen=True)
class OracleResult:
    """One evaluated configuration (a baseline result has no fine-tune: 0 seconds)."""

    keep: dict[str, float]
    """The fraction of channels each candidate really keeps (kept / original channels)."""
    val_accuracy: float
    """Accuracy on the validation split: what search decisions use."""
    test_accuracy: float
    """Accuracy on the test split: what a final plan reports."""
    finetune_seconds: float
    params: int
    flops: int
    candidates: tuple[TensorSize, ...]
    """The tensor at every candidate at deployment size, 1 byte per element."""
    from_cache: bool = field(default=False, compare=False)
    bits: SplitBits = ()
    """Splits whose tensor was fine-tuned through the codec below 8 bits (absent: int8)."""

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        record.pop("from_cache")
        if self.bits:  # an int8 result's record stays what it was before codecs existed
            record["bits"] = dict(self.bits)
        else:
            record.pop("bits")
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any], from_cache: bool = True) -> OracleResult:
        return cls(
            keep={str(k): float(v) for k, v in record["keep"].items()},
            val_accuracy=float(record["val_accuracy"]),
            test_accuracy=float(record["test_accuracy"]),
            finetune_seconds=float(record["finetune_seconds"]),
            params=int(record["params"]),
            flops=int(record["flops"]),
            candidates=tuple(TensorSize(**c) for c in record["candidates"]),
            from_cache=from_cache,
            bits=tuple(sorted((str(k), int(v)) for k, v in record.get("bits", {}).items())),
        )

    def channels(self) -> dict[str, int]:
        return {c.name: c.channels for c in self.candidates}


class AccuracyOracle:
    """Accuracy (and size) of pruned variants of one baseline on one workload."""

    def __init__(
        self,
        baseline: Baseline,
        workload: Workload,
        space: SearchSpace,
        budget: FinetuneBudget | None = None,
        seed: int = 0,
        cache: ResultCache | None = None,
        progress: bool = False,
        models: ModelStore | None = None,
    ) -> None:
        self.baseline = baseline
        self.workload = workload
        self.space = space
        self.budget = budget or FinetuneBudget()
        self.seed = seed
        self.cache: ResultCache = cache if cache is not None else MemoryCache()
        self.progress = progress
        self.models = models
        """Where fine-tuned weights are kept by cache key (None: not kept)."""
        self.deploy_size = model_spec(space.model).deploy_size
        """Input size sizes are reported at: the size the model's profiles price tensors at."""
        self._graph = channel_graph(baseline.model)
        self._groups = candidate_groups(baseline.model, space, self._graph)
        self.finetunes = 0
        """How many fine-tunes this oracle has run (cache hits do not count)."""

    def kept_channels(self, config: Mapping[str, float]) -> dict[str, int]:
        """Channels every candidate keeps under `config` (validated as pruning would)."""
        group_fractions(self.space, self._groups, config)
        return KeepConfig.from_fractions(self.space, config).all_channels

    def cache_key(self, config: Mapping[str, float], bits: Mapping[str, int] | None = None) -> str:
        """The key of `config` fine-tuned with split tensors at `bits` (split -> 1..8, default 8).

        8 bits everywhere is the key of the release before codecs: every cache entry stays."""
        parts: dict[str, Any] = {
            "baseline": self.baseline.key,
            "data": self.workload.fingerprint,
            "channels": self.kept_channels(config),
            "budget": self.budget.as_dict(),
            "seed": self.seed,
            "code": FINETUNE_RECIPE.key,
        }
        below = split_bits(bits, self.space.names)
        if below:
            parts["bits"] = dict(below)
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]

    def evaluate(
        self, config: Mapping[str, float], bits: Mapping[str, int] | None = None
    ) -> OracleResult:
        """Prune to `config`, fine-tune within the budget with the split tensors of `bits`
        through the codec at those widths (others int8), and measure (or read the cache)."""
        key = self.cache_key(config, bits)
        record = self.cache.get(key)
        if record is not None:
            try:
                return OracleResult.from_record(record)
            except (KeyError, TypeError, ValueError):  # a record of another shape: recompute
                pass
        pruned = prune_channels(self.baseline.model, self.space, config)
        size = measure(pruned.model, self.space, self.deploy_size)
        below = split_bits(bits, self.space.names)
        model = insert_split_quantizers(pruned.model, self.space, below)
        label = "fine-tuning (quantization-aware)" if self.progress else None
        tuned = finetune(model, self.workload, self.budget, self.seed, progress=label)
        self.finetunes += 1
        if self.models is not None:
            self.models.save(key, tuned.model)
        result = replace(self._result(tuned.model, size, tuned.seconds), bits=below)
        self.cache.put(key, result.to_record())
        return result

    def tuned_model(
        self, config: Mapping[str, float], bits: Mapping[str, int] | None = None
    ) -> Any:
        """The fine-tuned model whose accuracy `evaluate(config, bits)` reports.

        Loaded from the model store when its weights are there; otherwise fine-tuned again
        (deterministic per seed) and stored. The accuracy cache is left as it is. Below 8 bits
        the model has a `SplitQuantize` layer after each such split (the codec's rounding; the
        deployed model leaves it to the runtime's codec).
        """
        key = self.cache_key(config, bits)
        pruned = prune_channels(self.baseline.model, self.space, config).model
        pruned = insert_split_quantizers(pruned, self.space, split_bits(bits, self.space.names))
        if self.models is not None and self.models.has(key):  # else no wrapping to load into
            model = tuned_architecture(pruned, self.budget)
            if self.models.load_into(key, model):
                return model
        label = "fine-tuning (quantization-aware)" if self.progress else None
        tuned = finetune(pruned, self.workload, self.budget, self.seed, progress=label)
        self.finetunes += 1
        if self.models is not None:
            self.models.save(key, tuned.model)
        return tuned.model

    def baseline_result(self) -> OracleResult:
        """The unpruned, un-fine-tuned baseline, measured the same way (not cached)."""
        size = measure(self.baseline.model, self.space, self.deploy_size)
        return self._result(self.baseline.model, size, 0.0)

    def _result(self, model: Any, size: ModelSize, seconds: float) -> OracleResult:
        original = {g: self._groups[g].channels for g in self._groups}
        return OracleResult(
            keep={c.name: c.channels / original[c.name] for c in size.candidates},
            val_accuracy=accuracy(model, self.workload.val),
            test_accuracy=accuracy(model, self.workload.test),
            finetune_seconds=seconds,
            params=size.params,
            flops=size.flops,
            candidates=size.candidates,
        )
