"""The vectorised pricing agrees with the exact planner for every split-aware configuration."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cnnpc.errors import InputError
from cnnpc.planner import LinkOptions, Planner, planner_for
from cnnpc.records import KeepConfig
from cnnpc.search import split_aware_grid
from cnnpc.sweep import ConfigPricing, crossover, parse_bandwidths, parse_devices


@pytest.fixture(scope="module", params=[0.0, 20.0], ids=["no-latency", "latency"])
def pricing(request) -> ConfigPricing:
    """The pricing without latencies, and with a 20 ms cloud (one way) and a 2 ms edge: the
    fixed cost must land in alpha, not in beta / bandwidth."""
    options = LinkOptions(uplink_latency_ms=request.param / 10, latency_ms=request.param)
    return ConfigPricing(planner_for("mobilenet", "MI8", bandwidth_mbps=1.0, options=options))


@pytest.mark.parametrize("bandwidth", [1.0, 7.5, 50.0])
def test_every_configuration_matches_planner_best(pricing, bandwidth):
    base = pricing.planner
    planner = Planner(
        base.profile, dataclasses.replace(base.links, bandwidth_mbps=bandwidth), base.conventions
    )
    priced = pricing.at(bandwidth)
    assert len(pricing.configs) == len(list(split_aware_grid(base.profile.space))) == 1079
    for c, config in enumerate(pricing.configs):
        plan = planner.best(KeepConfig.from_fractions(base.profile.space, config))
        assert priced.latency_ms[c] == pytest.approx(plan.latency_ms, rel=1e-12)
        assert pricing.latency(c, plan.a, plan.b, bandwidth) == pytest.approx(plan.latency_ms)


def test_redundant_means_as_fast_as_a_smaller_configuration(pricing):
    priced = pricing.at(10.0)
    assert not priced.redundant[pricing.index["baseline"]]
    for c in np.flatnonzero(priced.redundant)[:50]:
        subs = pricing._subs[c]
        assert min(priced.latency_ms[s] for s in subs) == pytest.approx(priced.latency_ms[c])


def test_crossover_solves_the_two_lines():
    assert crossover((5.0, 0.0), (4.0, 1.0)) == pytest.approx(1.0)
    assert crossover((4.0, 1.0), (3.0, 8.0)) == pytest.approx(7.0)
    assert crossover((4.0, 1.0), (4.0, 2.0)) is None
    assert crossover((3.0, 1.0), (4.0, 2.0)) is None  # never cross at a positive bandwidth


def test_grid_syntax():
    assert parse_bandwidths("1:5:1") == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert parse_bandwidths("0.5:1.5:0.25") == (0.5, 0.75, 1.0, 1.25, 1.5)
    assert parse_bandwidths("1:4:2") == (1.0, 3.0)  # STOP included only when a step lands on it
    assert parse_bandwidths("10,1,5,5") == (1.0, 5.0, 10.0)
    assert parse_devices("MI8, MI8SE,MI8") == ("MI8", "MI8SE")
    for bad in ("1:5", "5:1:1", "1:5:0", "a,b", "0,1", "1:nan:1", "1:1e9:1e-3"):
        with pytest.raises(InputError):
            parse_bandwidths(bad)
