"""The user's own image folders, read with Keras' directory loader; bad folders are one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cnnpc._keras import tf
from cnnpc.errors import InputError
from cnnpc.workloads import image_folder

COLOURS = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}


def _write_png(path: Path, rgb: tuple[int, int, int], rng: np.random.Generator) -> None:
    noise = rng.integers(0, 40, (12, 10, 3))
    pixels = np.clip(np.array(rgb) * 0.8 + noise, 0, 255).astype(np.uint8)
    path.write_bytes(tf.io.encode_png(pixels).numpy())


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for name, rgb in COLOURS.items():
        (root / name).mkdir()
        for i in range(10):
            _write_png(root / name / f"{i}.png", rgb, rng)
    return root


def test_loads_classes_labels_and_splits(folder):
    work = image_folder(folder, 16)
    assert work.classes == ("blue", "green", "red")
    assert [len(work.train), len(work.val), len(work.test)] == [18, 6, 6]
    for split in (work.train, work.val, work.test):
        assert split.x.shape[1:] == (16, 16, 3)
        assert split.x.min() >= 0.0 and split.x.max() <= 1.0
        assert np.bincount(split.y, minlength=3).min() >= 2  # stratified
        dominant = split.x.mean(axis=(1, 2)).argmax(axis=-1)  # 0 red, 1 green, 2 blue
        np.testing.assert_array_equal(dominant, np.array([2, 1, 0])[split.y])
    assert image_folder(folder, 16).fingerprint == work.fingerprint


def test_missing_path_and_not_a_folder(tmp_path):
    with pytest.raises(InputError, match="no such folder"):
        image_folder(tmp_path / "nope", 16)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        image_folder(tmp_path / "file.txt", 16)


def test_empty_folder_and_single_class(tmp_path):
    with pytest.raises(InputError, match="found 0 with images"):
        image_folder(tmp_path, 16)
    (tmp_path / "only").mkdir()
    _write_png(tmp_path / "only" / "a.png", (1, 2, 3), np.random.default_rng(0))
    with pytest.raises(InputError, match="found 1 with images"):
        image_folder(tmp_path, 16)


def test_too_few_images_to_split(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        _write_png(tmp_path / name / "0.png", (9, 9, 9), rng)
    with pytest.raises(InputError, match="cannot split 2 images"):
        image_folder(tmp_path, 16)


def test_undecodable_image(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(5):
            _write_png(tmp_path / name / f"{i}.png", (9, 9, 9), rng)
    (tmp_path / "a" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(InputError) as info:
        image_folder(tmp_path, 16)
    broken = tmp_path / "a" / "broken.png"
    assert str(info.value).startswith(f"--data {tmp_path}: cannot decode image {broken}: ")
