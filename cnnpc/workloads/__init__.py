"""Workloads: the embedded `digits` data and the user's own image folders, with fixed splits.

Importing this imports TensorFlow and scikit-learn (training, the digits data); image files are
read and resized by `cnnpc._images`, which needs neither (the runtime-only install's `cnnpc infer`).
"""

from __future__ import annotations

from cnnpc._images import read_images
from cnnpc.errors import InputError
from cnnpc.workloads._dataset import SPLITS, Split, Workload, stratified_split
from cnnpc.workloads._digits import digits
from cnnpc.workloads._folder import check_image_folder, image_folder
from cnnpc.workloads._training import TrainingRun, accuracy, compile_model, fit

WORKLOADS = ("digits",)


def load_workload(name: str, input_size: int) -> Workload:
    """An embedded workload by name (only ``digits`` ships with cnnpc)."""
    if name != "digits":
        raise InputError(f"unknown workload {name!r} (valid: {', '.join(WORKLOADS)})")
    return digits(input_size)


__all__ = [
    "SPLITS",
    "WORKLOADS",
    "Split",
    "TrainingRun",
    "Workload",
    "accuracy",
    "check_image_folder",
    "compile_model",
    "digits",
    "fit",
    "image_folder",
    "load_workload",
    "read_images",
    "stratified_split",
]
