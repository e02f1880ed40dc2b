"""The user's own workload: a folder with one sub-folder of images per class.

Read with Keras' directory loader (sorted class names give the label indices, as when the model
was trained the same way), scaled to [0, 1] and held in memory, so it suits folders of up to some
thousands of images. Then split like the embedded workload.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from cnnpc._keras import keras, tf
from cnnpc.errors import InputError
from cnnpc.workloads._dataset import Workload, stratified_split

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def _class_folders(root: Path) -> list[Path]:
    if not root.exists():
        raise InputError(f"--data {root}: no such folder")
    if not root.is_dir():
        raise InputError(f"--data {root}: not a folder")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    with_images = [
        p for p in folders if any(f.suffix.lower() in IMAGE_SUFFIXES for f in p.iterdir())
    ]
    if len(with_images) < 2:
        raise InputError(
            f"--data {root}: expected one sub-folder of images per class, found "
            f"{len(with_images)} with images (need at least 2 classes)"
        )
    return folders


def check_image_folder(path: str | Path) -> Path:
    """Refuse a --data that is not a folder of class folders, cheaply (before anything heavy)."""
    _class_folders(Path(path))
    return Path(path)


def _first_undecodable(folders: list[Path]) -> Path | None:
    """The file the batch decoder choked on (it does not say), found by decoding one by one."""
    for folder in folders:
        for file in sorted(folder.iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                tf.io.decode_image(tf.io.read_file(str(file)), channels=3, expand_animations=False)
            except tf.errors.OpError:
                return file
    return None


def image_folder(path: str | Path, input_size: int, split_seed: int = 0) -> Workload:
    """Load `path` (one sub-folder per class) at `input_size`, split 60/20/20 (stratified)."""
    root = Path(path)
    folders = _class_folders(root)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints "Found N files" to stdout
            dataset = keras.utils.image_dataset_from_directory(
                root,
                labels="inferred",
                label_mode="int",
                class_names=[p.name for p in folders],
                color_mode="rgb",
                image_size=(input_size, input_size),
                shuffle=False,
                batch_size=64,
            )
        xs, ys = [], []
        for images, labels in dataset:
            xs.append(images.numpy() / 255.0)
            ys.append(labels.numpy())
    except (ValueError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"--data {root}: cannot read images: {first_line}") from None
    except tf.errors.OpError as exc:  # e.g. InvalidArgumentError for an undecodable file
        bad = _first_undecodable(folders)
        what = "images" if bad is None else f"image {bad}"
        raise InputError(f"--data {root}: cannot decode {what}: {type(exc).__name__}") from None
    x = np.concatenate(xs).astype(np.float32)
    y = np.concatenate(ys).astype(np.int64)
    train, val, test = stratified_split(x, y, split_seed)
    return Workload(
        name=f"folder:{root.resolve().name}",
        classes=tuple(p.name for p in folders),
        input_size=input_size,
        train=train,
        val=val,
        test=test,
        split_seed=split_seed,
        source=str(root.resolve()),
    )
