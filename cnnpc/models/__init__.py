"""The CNNs cnnpc splits and prunes, built with tf-keras (importing this imports TensorFlow)."""

from __future__ import annotations

from cnnpc.models._measure import (
    ModelSize,
    TensorSize,
    count_flops,
    input_size,
    measure,
    resize_input,
)
from cnnpc.models._registry import DEPLOY_SIZE, MODELS, ModelSpec, build_model, model_spec
from cnnpc.models._split import BoundaryQuant, boundary_layer, output_range, segment_models

__all__ = [
    "DEPLOY_SIZE",
    "MODELS",
    "BoundaryQuant",
    "ModelSize",
    "ModelSpec",
    "TensorSize",
    "boundary_layer",
    "build_model",
    "count_flops",
    "input_size",
    "measure",
    "model_spec",
    "output_range",
    "resize_input",
    "segment_models",
]
