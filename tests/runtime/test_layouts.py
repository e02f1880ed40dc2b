"""Other layouts: the edge relays end->cloud; an end-only plan needs no server."""

from __future__ import annotations

import pytest
from deploy.plans import compose, end_only_plan, make_plan

from cnnpc.deploy import Layout
from cnnpc.runtime import PlanClient, running_servers

# the session's model (end_only_plan converts it whole): this module runs where it is built
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("_three_tier_plan")]


def test_edge_relays_when_end_sends_to_the_cloud(tmp_path, data, qat_model):
    plan = make_plan(tmp_path / "relay", qat_model, data, Layout(3, 3, 8))
    assert list(plan.parts) == ["end", "cloud"]
    up, down = plan.links
    assert up.spec == down.spec and up.tensor == down.tensor == "block3"  # the same tensor twice
    images = data.test.x[:5]
    with running_servers(plan, shape=True) as edge, PlanClient(plan, edge, shape=True) as c:
        results = [c.infer(x) for x in images]
    assert [r.label for r in results] == list(compose(plan, images).argmax(1))
    t = results[-1].timings
    assert t["edge_ms"] == 0.0 and t["cloud_ms"] > 0 and t["downlink_ms"] > 0


def test_end_only_plan_runs_without_servers(tmp_path, data):
    plan = end_only_plan(tmp_path / "end")
    with running_servers(plan) as edge:
        assert edge is None
        with PlanClient(plan, None) as c:
            result = c.infer(data.test.x[0])
    assert result.timings["uplink_ms"] == 0.0 and result.timings["end_ms"] > 0
