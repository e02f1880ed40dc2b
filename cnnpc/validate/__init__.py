"""Validate a deployed plan's predicted latency against the real runtime on shaped links.

Importing this imports TensorFlow (through the deploy package).
"""

from __future__ import annotations

from cnnpc.validate._netns import NetnsUnavailable
from cnnpc.validate._netns import unavailable_reason as netns_unavailable_reason
from cnnpc.validate._report import (
    COMPONENTS,
    KERNEL,
    MUTUAL_TLS,
    PLAINTEXT,
    TLS,
    TOKEN_BUCKET,
    ComponentRow,
    ValidationReport,
    compare,
)
from cnnpc.validate._text import validation_text
from cnnpc.validate._validate import (
    CALIBRATION_ROUNDS,
    MAX_ROUNDS,
    NETNS_DEVICE,
    TLS_DEVICE,
    CostModel,
    fit_calibration,
    measure,
    predict,
    request_images,
    validate,
)

__all__ = [
    "CALIBRATION_ROUNDS",
    "COMPONENTS",
    "KERNEL",
    "MAX_ROUNDS",
    "MUTUAL_TLS",
    "NETNS_DEVICE",
    "PLAINTEXT",
    "TLS",
    "TLS_DEVICE",
    "TOKEN_BUCKET",
    "ComponentRow",
    "CostModel",
    "NetnsUnavailable",
    "ValidationReport",
    "compare",
    "fit_calibration",
    "measure",
    "netns_unavailable_reason",
    "predict",
    "request_images",
    "validate",
    "validation_text",
]
