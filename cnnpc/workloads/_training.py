"""Train and score a Keras classifier on a workload (shared by baseline training and fine-tuning).

Training is seeded (Keras' global seed covers weight init, shuffling and dropout), uses Adam with a
cosine-decayed learning rate, and keeps the weights of the epoch with the best validation
accuracy, stopping early once it has not improved for `patience` epochs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnpc._keras import keras
from cnnpc.workloads._dataset import Split, Workload
from cnnpc.workloads._progress import ProgressBar


@dataclass(frozen=True)
class TrainingRun:
    """What one call to `fit` did."""

    epochs_run: int
    best_epoch: int
    best_val_accuracy: float
    seconds: float


def compile_model(model: Any, learning_rate: float, decay_steps: int | None = None) -> None:
    """Adam (cosine decay over `decay_steps` if given), cross-entropy on softmax outputs."""
    rate: Any = learning_rate
    if decay_steps:
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.05)
    model.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )


def fit(
    model: Any,
    workload: Workload,
    *,
    epochs: int,
    learning_rate: float,
    seed: int,
    batch_size: int = 32,
    patience: int | None = None,
    steps_per_epoch: int | None = None,
    callbacks: Sequence[Any] = (),
    progress: str | None = None,
    select_best: bool = True,
) -> TrainingRun:
    """Train `model` in place on the workload's train split, selecting on its validation split.

    `steps_per_epoch` caps the batches per epoch (a budget in steps); `progress` is the label of a
    progress bar on stderr, or None for silence. With `select_best` off the last epoch's weights
    are kept (for schedules, such as sparsity, that must run to their end).
    """
    keras.utils.set_random_seed(seed)
    full = math.ceil(len(workload.train) / batch_size)
    steps = full if steps_per_epoch is None else max(1, min(steps_per_epoch, full))
    compile_model(model, learning_rate, decay_steps=epochs * steps)
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_accuracy",
        mode="max",
        patience=epochs if patience is None or not select_best else patience,
        restore_best_weights=select_best,
    )
    extra = [ProgressBar(progress, epochs, steps)] if progress else []
    x, y = workload.train.x, workload.train.y
    if steps < full:  # a step budget: one seeded subset of the train split, used every epoch
        chosen = np.random.default_rng(seed).permutation(len(y))[: steps * batch_size]
        x, y = x[chosen], y[chosen]
    start = time.perf_counter()
    history = model.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(workload.val.x, workload.val.y),
        shuffle=True,
        verbose=0,
        callbacks=[stopper, *callbacks, *extra],
    )
    seconds = time.perf_counter() - start
    val = [float(v) for v in history.history.get("val_accuracy", [0.0])]
    best = int(np.argmax(val))
    return TrainingRun(
        epochs_run=len(val), best_epoch=best + 1, best_val_accuracy=val[best], seconds=seconds
    )


def accuracy(model: Any, split: Split, batch_size: int = 128) -> float:
    """Top-1 accuracy of `model` on `split`."""
    probabilities = model.predict(split.x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=-1) == split.y))
