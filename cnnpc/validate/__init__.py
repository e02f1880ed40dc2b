"""Validate a deployed plan's predicted latency against the real runtime on shaped links.

Importing this imports TensorFlow (through the deploy package).
"""

from __future__ import annotations

from cnnpc.validate._validate import (
    COMPONENTS,
    ComponentRow,
    CostModel,
    ValidationReport,
    compare,
    fit_calibration,
    measure,
    predict,
    request_images,
    validate,
)

__all__ = [
    "COMPONENTS",
    "ComponentRow",
    "CostModel",
    "ValidationReport",
    "compare",
    "fit_calibration",
    "measure",
    "predict",
    "request_images",
    "validate",
]
