"""Fine-tuning a pruned model with TF-MOT: quantization-aware training, optional sparsity.

Quantization-aware training (``quantize_model``) makes the network robust to int8 weights and
activations, so the end-device part can run in int8 and the tensor it sends is 1 byte per element,
as the latency profiles assume; its accuracy is that of the int8 model. Optionally a first phase
applies gradual magnitude sparsity (``prune_low_magnitude`` with a polynomial schedule), whose
wrappers are stripped before a sparsity-preserving QAT phase (TF-MOT keeps the zeros of convolution
and dense kernels there, not of depthwise ones). The budget is a number of epochs
(optionally capped in steps) with early stopping on the validation split.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

from cnnpc._keras import keras, tfmot
from cnnpc.compression._splitquant import annotate_split_quantizers, has_split_quantizers
from cnnpc.errors import CnnpcError, InputError
from cnnpc.workloads import Workload, fit


class CompressionError(CnnpcError):
    """TF-MOT cannot quantize or sparsify this model (e.g. an unsupported layer)."""


@dataclass(frozen=True)
class FinetuneBudget:
    """How much fine-tuning one candidate gets (part of every oracle cache key).

    The defaults keep one fine-tune of mobilenet on the digits workload under about 60 s on
    2 CPU cores.
    """

    epochs: int = 3
    steps_per_epoch: int | None = None
    patience: int = 2
    batch_size: int = 32
    learning_rate: float = 3e-4
    quantize: bool = True
    sparsity: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise InputError(f"epochs must be >= 1, got {self.epochs}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise InputError(f"steps per epoch must be >= 1, got {self.steps_per_epoch}")
        if self.patience < 1 or self.batch_size < 1:
            raise InputError("patience and batch size must be >= 1")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise InputError(f"learning rate must be > 0, got {self.learning_rate}")
        if not 0.0 <= self.sparsity < 1.0:
            raise InputError(f"sparsity must be in [0, 1), got {self.sparsity}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FinetuneResult:
    model: Any
    """The fine-tuned model: quantization-aware (fake-quant int8) when the budget quantizes."""
    seconds: float
    """Wall time of the whole fine-tune (wrapping, training, stripping)."""
    epochs_run: int


def _sparsity_phase(
    model: Any, workload: Workload, budget: FinetuneBudget, epochs: int, seed: int
) -> tuple[Any, int]:
    """Gradual magnitude sparsity up to ``budget.sparsity``, then strip the wrappers."""
    per_epoch = math.ceil(len(workload.train) / budget.batch_size)
    if budget.steps_per_epoch is not None:
        per_epoch = min(per_epoch, budget.steps_per_epoch)
    # Reach the target after 80% of the steps, in about 8 mask updates (TF-MOT's default of one
    # per 100 steps would never fire within a short fine-tune); end_step is a multiple of them.
    ramp = max(1, int(0.8 * epochs * per_epoch))
    frequency = max(1, ramp // 8)
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0,
        final_sparsity=budget.sparsity,
        begin_step=0,
        end_step=frequency * (ramp // frequency),
        frequency=frequency,
    )
    try:  # prune_low_magnitude wraps the very layer objects it is given: work on a copy
        wrapped = tfmot.sparsity.keras.prune_low_magnitude(_copy(model), pruning_schedule=schedule)
    except (ValueError, RuntimeError) as exc:
        raise CompressionError(f"TF-MOT cannot sparsify this model: {exc}") from None
    run = fit(
        wrapped,
        workload,
        epochs=epochs,
        learning_rate=budget.learning_rate,
        seed=seed,
        batch_size=budget.batch_size,
        steps_per_epoch=budget.steps_per_epoch,
        callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
        select_best=False,
    )
    return tfmot.sparsity.keras.strip_pruning(wrapped), run.epochs_run


def quantization_aware(model: Any, preserve_sparsity: bool) -> Any:
    """`model` wrapped for quantization-aware training (untrained wrappers, `model`'s weights).

    With split quantizers (`insert_split_quantizers`) those are annotated so TF-MOT leaves them
    as they are; without, this is TF-MOT's ``quantize_model`` as before codecs existed."""
    quant = tfmot.quantization.keras
    try:
        if has_split_quantizers(model):
            annotated = annotate_split_quantizers(model)
        elif preserve_sparsity:
            annotated = quant.quantize_annotate_model(model)
        else:
            return quant.quantize_model(model)
        if preserve_sparsity:
            scheme = tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme()
            return quant.quantize_apply(annotated, scheme)
        return quant.quantize_apply(annotated)
    except (ValueError, RuntimeError) as exc:
        raise CompressionError(f"TF-MOT cannot quantize this model: {exc}") from None


def finetune(
    model: Any,
    workload: Workload,
    budget: FinetuneBudget,
    seed: int,
    progress: str | None = None,
) -> FinetuneResult:
    """Fine-tune a copy of `model` on `workload` within `budget`; deterministic per seed.

    With sparsity and quantization both on, the epochs are shared between the two phases (at least
    one each).
    """
    start = time.perf_counter()
    epochs_run = 0
    if budget.sparsity > 0:
        sparse_epochs = max(1, budget.epochs // 2) if budget.quantize else budget.epochs
        model, epochs_run = _sparsity_phase(model, workload, budget, sparse_epochs, seed)
        if not budget.quantize:
            return FinetuneResult(model, time.perf_counter() - start, epochs_run)
    tuned = quantization_aware(model, budget.sparsity > 0) if budget.quantize else _copy(model)
    run = fit(
        tuned,
        workload,
        epochs=max(1, budget.epochs - epochs_run),
        learning_rate=budget.learning_rate,
        seed=seed,
        batch_size=budget.batch_size,
        patience=budget.patience,
        steps_per_epoch=budget.steps_per_epoch,
        progress=progress,
    )
    return FinetuneResult(tuned, time.perf_counter() - start, epochs_run + run.epochs_run)


def _copy(model: Any) -> Any:
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy
