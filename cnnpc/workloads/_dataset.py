"""A classification workload: fixed train / validation / test splits at a model's input size.

Search decisions use the validation split; the accuracy reported for a final plan is on the test
split, which no decision ever looks at.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import train_test_split

from cnnpc.errors import InputError

SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)


@dataclass(frozen=True)
class Split:
    """Images (N, H, W, 3) as float32 in [0, 1] and integer labels (N,)."""

    x: npt.NDArray[np.float32]
    y: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class Workload:
    """A named data set, split once with a fixed seed, resized to `input_size`."""

    name: str
    classes: tuple[str, ...]
    input_size: int
    train: Split
    val: Split
    test: Split
    split_seed: int = 0
    source: str = field(default="", compare=False)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def split(self, name: str) -> Split:
        if name not in SPLITS:
            raise InputError(f"unknown split {name!r} (valid: {', '.join(SPLITS)})")
        split: Split = getattr(self, name)
        return split

    @cached_property
    def fingerprint(self) -> str:
        """Hash of the name, classes and every pixel and label: a cache key part for this data."""
        digest = hashlib.sha256(f"{self.name}|{self.input_size}|{self.classes}".encode())
        for name in SPLITS:
            split = self.split(name)
            digest.update(np.ascontiguousarray(split.x).tobytes())
            digest.update(np.ascontiguousarray(split.y).tobytes())
        return digest.hexdigest()[:16]


def stratified_split(
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.int64],
    seed: int,
    fractions: Sequence[float] = SPLIT_FRACTIONS,
) -> tuple[Split, Split, Split]:
    """Seeded train / validation / test split with every class in the same proportions."""
    train_frac, val_frac, test_frac = fractions
    try:
        x_train, x_rest, y_train, y_rest = train_test_split(
            x, y, train_size=train_frac, stratify=y, random_state=seed
        )
        x_val, x_test, y_val, y_test = train_test_split(
            x_rest,
            y_rest,
            test_size=test_frac / (val_frac + test_frac),
            stratify=y_rest,
            random_state=seed,
        )
    except ValueError as exc:
        raise InputError(
            f"cannot split {len(y)} images into stratified train/validation/test sets: {exc}"
        ) from None
    return Split(x_train, y_train), Split(x_val, y_val), Split(x_test, y_test)
