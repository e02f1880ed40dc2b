"""The parts of a deployed plan compose to the whole pruned model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from deploy.plans import compose, end_only_plan

from cnnpc.records import PLAN_FILE

pytestmark = pytest.mark.slow


def test_parts_compose_to_the_whole_model(three_tier, qat_model, data, tmp_path):
    images = data.test.x
    composed = compose(three_tier, images)
    whole = end_only_plan(tmp_path / "whole")  # the same model converted in one piece
    reference = compose(whole, images)
    whole_out = whole.parts["end"].output
    # int8 at every boundary is exactly what the whole int8 model computes there
    assert np.array_equal(composed.argmax(1), reference.argmax(1))
    assert np.abs(composed - reference).max() <= 2 * whole_out.scale
    keras_scores = qat_model.predict(images, verbose=0)
    agree = np.mean(composed.argmax(1) == keras_scores.argmax(1))
    assert agree >= 0.97
    assert np.abs(composed - keras_scores).mean() < 0.02


def test_plan_json_describes_every_part_and_link(three_tier):
    raw = json.loads((three_tier.folder / PLAN_FILE).read_text())
    assert raw["schema_version"] == 1
    assert [p["tier"] for p in raw["parts"]] == ["end", "edge", "cloud"]
    end, edge, cloud = (three_tier.parts[t] for t in ("end", "edge", "cloud"))
    assert end.input.dtype == end.output.dtype == "int8"
    up, down = three_tier.links
    assert (up.source, up.target, up.tensor) == ("end", "edge", "block1")
    assert (down.source, down.target, down.tensor) == ("edge", "cloud", "block10")
    # quantization-aware ranges: both sides of a link agree, nothing to requantise
    assert (up.spec.scale, up.spec.zero_point) == (edge.input.scale, edge.input.zero_point)
    assert (down.spec.scale, down.spec.zero_point) == (cloud.input.scale, cloud.input.zero_point)
    assert up.spec.shape == end.output.shape and up.bytes == int(np.prod(up.spec.shape))
    assert raw["links"][1]["bandwidth_mbps"] == 10.0 and raw["links"][0]["bytes"] == up.bytes
    assert raw["predicted"]["breakdown"]["total_ms"] == 10.0
