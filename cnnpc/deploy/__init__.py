"""Deploy a search's best plan: one int8 TFLite part per tier and plan.json (schema_version 1).

Importing this imports TensorFlow; reading a plan folder (``cnnpc.records.load_plan``) does not.
"""

from __future__ import annotations

from cnnpc.deploy._adaptive import deploy_adaptive, part_file
from cnnpc.deploy._build import (
    DeployError,
    build_deployment,
    check_plan_target,
    input_spec,
    is_plan_folder,
    plan_document,
    write_plan_folder,
)
from cnnpc.deploy._convert import (
    ConversionError,
    ConvertedPart,
    convert_parts,
    io_specs,
    is_quantization_aware,
    to_float_tflite,
    to_int8_tflite,
)
from cnnpc.deploy._layout import Layout
from cnnpc.deploy._search import DeployInputs, DeployResult, best_plan, deploy, open_search_oracle
from cnnpc.deploy._segments import segment_parts, write_upload_folder
from cnnpc.deploy._upload import UploadSummary, deploy_upload

__all__ = [
    "ConversionError",
    "ConvertedPart",
    "DeployError",
    "DeployInputs",
    "DeployResult",
    "Layout",
    "UploadSummary",
    "best_plan",
    "build_deployment",
    "check_plan_target",
    "convert_parts",
    "deploy",
    "deploy_adaptive",
    "deploy_upload",
    "input_spec",
    "io_specs",
    "is_plan_folder",
    "is_quantization_aware",
    "open_search_oracle",
    "part_file",
    "plan_document",
    "segment_parts",
    "to_float_tflite",
    "to_int8_tflite",
    "write_plan_folder",
    "write_upload_folder",
]
