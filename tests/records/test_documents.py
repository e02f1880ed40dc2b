"""plan.json, planset.json and upload.json each have one JSON form: a document read back as its
record and written again is the same bytes (the golden documents of `cnnpc deploy`, made
before the records existed); a malformed one is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnpc.records import (
    PlanDocument,
    PlanError,
    PlanSetDocument,
    PlanSetError,
    UploadDocument,
)

GOLDEN = Path(__file__).parents[1] / "golden" / "data"


@pytest.mark.parametrize(
    ("file", "record"),
    [
        ("deploy_plan.json", PlanDocument),
        ("deploy_adaptive_plan.json", PlanDocument),
        ("deploy_adaptive_plan-P2.json", PlanDocument),
        ("deploy_adaptive_planset.json", PlanSetDocument),
        ("deploy_upload.json", UploadDocument),
    ],
)
def test_documents_write_back_byte_identical(file, record):
    text = (GOLDEN / file).read_text(encoding="utf-8")
    document = record.parse(json.loads(text), file)
    assert json.dumps(document.as_dict(), indent=1, allow_nan=False) + "\n" == text


def test_read_back_documents_are_typed():
    raw = json.loads((GOLDEN / "deploy_adaptive_planset.json").read_text(encoding="utf-8"))
    planset = PlanSetDocument.parse(raw, "planset.json")
    assert planset.design_plan == raw["design_plan"]
    assert [p.label for p in planset.table.plans] == [p["label"] for p in raw["plans"]]
    raw = json.loads((GOLDEN / "deploy_upload.json").read_text(encoding="utf-8"))
    upload = UploadDocument.parse(raw, "upload.json")
    assert upload.steps == tuple(tuple(s["indices"]) for s in raw["steps"])
    assert upload.layouts.n == upload.n_segments == len(raw["parts"])


def test_malformed_documents_are_one_line():
    raw = json.loads((GOLDEN / "deploy_upload.json").read_text(encoding="utf-8"))
    raw["layouts"]["latency_ms"] = raw["layouts"]["latency_ms"][:-1]
    with pytest.raises(PlanError, match=r"upload.json: malformed \(layout latencies"):
        UploadDocument.parse(raw, "upload.json")
    raw = json.loads((GOLDEN / "deploy_adaptive_planset.json").read_text(encoding="utf-8"))
    with pytest.raises(PlanError, match="not a schema_version 1 plan set"):
        PlanSetDocument.parse(raw | {"schema_version": 2}, "planset.json")
    with pytest.raises(PlanSetError, match="plans: expected a list"):
        PlanSetDocument.parse(raw | {"plans": None}, "planset.json")
    raw = json.loads((GOLDEN / "deploy_plan.json").read_text(encoding="utf-8"))
    raw["parts"][0]["span"] = [2, 1]
    with pytest.raises(PlanError, match=r"parts\[0\]\.span"):
        PlanDocument.parse(raw, "plan.json")
