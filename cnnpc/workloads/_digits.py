"""The embedded workload: scikit-learn's handwritten digits, upsampled to a model's input size.

``load_digits`` ships inside scikit-learn (1,797 8x8 greyscale images of 10 digits, from the UCI
optical recognition data set), so nothing is downloaded. Pixels (0-16) are scaled to [0, 1],
bilinearly resized, and repeated over 3 channels so the image-net-shaped models take them as is.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from cnnpc._images import resize_bilinear
from cnnpc.errors import InputError
from cnnpc.workloads._dataset import Workload, stratified_split

DIGITS_SPLIT_SEED = 0


def digits(input_size: int, split_seed: int = DIGITS_SPLIT_SEED) -> Workload:
    """The digits workload at `input_size` x `input_size` x 3, split 60/20/20 (stratified)."""
    if input_size < 8:
        raise InputError(f"input size must be at least 8 pixels, got {input_size}")
    data = load_digits()
    images = (data.images.astype(np.float32) / 16.0)[..., np.newaxis]
    resized = resize_bilinear(images, input_size, input_size)
    x = np.repeat(np.clip(resized, 0.0, 1.0), 3, axis=-1).astype(np.float32)
    y = data.target.astype(np.int64)
    train, val, test = stratified_split(x, y, split_seed)
    return Workload(
        name="digits",
        classes=tuple(str(c) for c in data.target_names),
        input_size=input_size,
        train=train,
        val=val,
        test=test,
        split_seed=split_seed,
        source="sklearn.datasets.load_digits",
    )
