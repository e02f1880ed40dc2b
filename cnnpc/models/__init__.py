"""The CNNs cnnpc splits and prunes, built with tf-keras (importing this imports TensorFlow)."""

from __future__ import annotations

from cnnpc.models._apps import (
    app_function,
    build_app,
    check_model_file,
    load_checked,
    load_saved,
    reconfigure,
)
from cnnpc.models._measure import (
    ModelSize,
    TensorSize,
    count_flops,
    input_size,
    layer_flops,
    measure,
    resize_input,
    tensor_hwc,
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
    "app_function",
    "boundary_layer",
    "build_app",
    "build_model",
    "check_model_file",
    "count_flops",
    "input_size",
    "layer_flops",
    "load_checked",
    "load_saved",
    "measure",
    "model_spec",
    "output_range",
    "reconfigure",
    "resize_input",
    "segment_models",
    "tensor_hwc",
]
