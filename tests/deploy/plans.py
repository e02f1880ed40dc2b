"""Tiny deployed plans for the deploy, runtime and validate tests (no search, no storage).

A mobilenet at 32x32 (width 0.35), pruned at block6, briefly trained quantization-aware on the
digits workload, deployed as end [0, 2) / edge [2, 5) / cloud [5, 8): two links, three parts.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from cnnpc._keras import keras, tfmot
from cnnpc.compression import prune_channels
from cnnpc.deploy import Layout, build_deployment, plan_document, write_plan_folder
from cnnpc.models import build_model
from cnnpc.records import DeployedPlan, LinkSetting, PlanHead, load_plan
from cnnpc.spaces import load_space
from cnnpc.workloads import Workload, digits, fit

SIZE = 32
RATES = LinkSetting(uplink_mbps=20.0, bandwidth_mbps=10.0)
SPACE = load_space("mobilenet")


def workload() -> Workload:
    return digits(SIZE)


def tiny_model(data: Workload, qat: bool = True) -> Any:
    """A pruned mobilenet trained a few steps (quantization-aware if `qat`)."""
    keras.utils.set_random_seed(0)
    model = build_model("mobilenet", data.num_classes, SIZE, alpha=0.35)  # block6: 16 channels
    model = prune_channels(model, SPACE, {"block6": 0.5}).model
    if qat:
        model = tfmot.quantization.keras.quantize_model(model)
    fit(model, data, epochs=1, learning_rate=3e-3, seed=0, steps_per_epoch=10)
    return model


def make_plan(
    folder: Path, model: Any, data: Workload, layout: Layout, rates: LinkSetting = RATES
) -> DeployedPlan:
    parts, links, files = build_deployment(model, SPACE, layout, data.train.x, rates)
    meta = {
        "model": "mobilenet",
        "workload": {"name": data.name, "image_size": SIZE, "classes": list(data.classes)},
        "search": {"id": 7},
        "plan": {"channels": {"block6": 16}},
        "predicted": {"latency_ms": 10.0, "breakdown": {"total_ms": 10.0}},
    }
    head = PlanHead.parse(meta, "test")
    write_plan_folder(folder, plan_document(head, SIZE, parts, links, files), files)
    return load_plan(folder)


def compose(plan: DeployedPlan, images: np.ndarray) -> np.ndarray:
    """Scores of `images` from the plan's parts run in turn in this process (no servers)."""
    from cnnpc.runtime import Part, dequantize, quantize, requantize

    parts = [Part(plan.part_path(t), plan.parts[t]) for t in plan.parts]
    scores = []
    for image in images:
        q = quantize(image[np.newaxis], parts[0].spec.input)
        for i, part in enumerate(parts):
            if i:
                q = requantize(q, parts[i - 1].spec.output, part.spec.input)
            q, _ = part.run(q)
        scores.append(dequantize(q, parts[-1].spec.output)[0])
    return np.array(scores)


@functools.cache
def three_tier_plan() -> tuple[DeployedPlan, Any]:
    """The end [0, 2) / edge [2, 5) / cloud [5, 8) plan and its model, built once per session
    (shared by tests/deploy, tests/runtime and tests/validate)."""
    data = workload()
    model = tiny_model(data, qat=True)
    root = Path(tempfile.mkdtemp(prefix="cnnpc-test-plans-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return make_plan(root / "three", model, data, Layout(2, 5, 8)), model


@functools.cache
def whole_tflite() -> bytes:
    """The three-tier plan's model converted whole (int8), once per session."""
    from cnnpc.deploy import to_int8_tflite

    return to_int8_tflite(three_tier_plan()[1], None)


def end_only_plan(folder: Path) -> DeployedPlan:
    """The whole model as one end part: a plan with no link (no conversion of its own)."""
    from cnnpc.deploy import io_specs
    from cnnpc.records import PartSpec

    buffer = whole_tflite()
    spec_in, spec_out = io_specs(buffer)
    part = PartSpec("end", "end.tflite", (0, 8), (), spec_in, spec_out)
    meta = {"model": "mobilenet", "workload": {"name": "digits", "image_size": SIZE}}
    files = {"end.tflite": buffer}
    document = plan_document(PlanHead.parse(meta, "test"), SIZE, [part], [], files)
    write_plan_folder(folder, document, files)
    return load_plan(folder)
