"""The records that cross the pipeline, frozen and typed, each with one JSON form: the numbers'
bounds, the links' settings and the deployed plan documents (read without TensorFlow). Low in
the house (above `spaces` and `profiles`, below `latency`, `planner`, `search`, `storage`,
`deploy` and `runtime`), so every stage reads the same record instead of re-assembling its own.
"""

from __future__ import annotations

from cnnpc.records._head import (
    AccuracyRef,
    PlanChoice,
    PlanError,
    PlanHead,
    Predicted,
    SearchRef,
    WorkloadRef,
)
from cnnpc.records._links import FloatArray, LinkSetting
from cnnpc.records._numbers import (
    MAX_MBPS,
    MAX_MS,
    MBIT_BINARY,
    MBIT_SI,
    MIN_MBPS,
    check_ms,
    check_number,
    check_rate,
)
from cnnpc.records._plan import (
    DTYPES,
    PLAN_FILE,
    SCHEMA_VERSION,
    TIERS,
    DeployedPlan,
    LinkSpec,
    PartSpec,
    TensorSpec,
    check_part_file,
    load_plan,
    peek_document,
    read_document,
)
from cnnpc.records._upload import (
    MAX_SEGMENTS,
    UPLOAD_FILE,
    UPLOAD_KIND,
    LayoutPrices,
    UploadDocument,
    UploadLayout,
    UploadPlan,
    UploadStep,
    load_upload,
)

__all__ = [
    "DTYPES",
    "MAX_MBPS",
    "MAX_MS",
    "MAX_SEGMENTS",
    "MBIT_BINARY",
    "MBIT_SI",
    "MIN_MBPS",
    "PLAN_FILE",
    "SCHEMA_VERSION",
    "TIERS",
    "UPLOAD_FILE",
    "UPLOAD_KIND",
    "AccuracyRef",
    "DeployedPlan",
    "FloatArray",
    "LayoutPrices",
    "LinkSetting",
    "LinkSpec",
    "PartSpec",
    "PlanChoice",
    "PlanError",
    "PlanHead",
    "Predicted",
    "SearchRef",
    "TensorSpec",
    "UploadDocument",
    "UploadLayout",
    "UploadPlan",
    "UploadStep",
    "WorkloadRef",
    "check_ms",
    "check_number",
    "check_part_file",
    "check_rate",
    "load_plan",
    "load_upload",
    "peek_document",
    "read_document",
]
