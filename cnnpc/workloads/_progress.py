"""A Keras callback that draws a rich progress bar on stderr (stdout stays clean for --json)."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cnnpc._keras import keras


class ProgressBar(keras.callbacks.Callback):  # type: ignore[misc]
    """One bar over all epochs' batches, with the latest validation accuracy."""

    def __init__(self, description: str, epochs: int, steps_per_epoch: int) -> None:
        super().__init__()
        self._description = description
        self._total = epochs * steps_per_epoch
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._task: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._progress.start()
        self._task = self._progress.add_task(self._description, total=self._total, status="")

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._progress.advance(self._task)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        val = (logs or {}).get("val_accuracy")
        status = f"epoch {epoch + 1}" + (f", val acc {val:.3f}" if val is not None else "")
        self._progress.update(self._task, status=status)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._progress.update(self._task, total=self._progress.tasks[0].completed)
        self._progress.stop()
