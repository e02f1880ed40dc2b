"""The records that cross the pipeline, frozen and typed, each with one JSON form: the keep
configurations, the numbers' bounds, the links' settings and the deployed plan documents (read
without TensorFlow). Low in the house (above `spaces` and `profiles`, below `latency`, `planner`,
`search`, `storage`, `deploy` and `runtime`), so every stage reads the same
record instead of re-assembling its own.
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
from cnnpc.records._keep import (
    BASELINE_KEY,
    NO_PRUNING,
    KeepConfig,
    KeptBlock,
    keep_key,
    keep_text,
    parse_keep_key,
    parse_keep_values,
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

__all__ = [
    "BASELINE_KEY",
    "DTYPES",
    "MAX_MBPS",
    "MAX_MS",
    "MBIT_BINARY",
    "MBIT_SI",
    "MIN_MBPS",
    "NO_PRUNING",
    "PLAN_FILE",
    "SCHEMA_VERSION",
    "TIERS",
    "AccuracyRef",
    "DeployedPlan",
    "FloatArray",
    "KeepConfig",
    "KeptBlock",
    "LinkSetting",
    "LinkSpec",
    "PartSpec",
    "PlanChoice",
    "PlanError",
    "PlanHead",
    "Predicted",
    "SearchRef",
    "TensorSpec",
    "WorkloadRef",
    "check_ms",
    "check_number",
    "check_part_file",
    "check_rate",
    "keep_key",
    "keep_text",
    "load_plan",
    "parse_keep_key",
    "parse_keep_values",
    "peek_document",
    "read_document",
]
