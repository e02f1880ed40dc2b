"""The link options: one validated object that every pricing command passes on."""

from __future__ import annotations

import math

import pytest

from cnnpc.errors import InputError
from cnnpc.planner import LinkOptions, planner_for
from cnnpc.records import LinkSetting


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("name", ["uplink_latency_ms", "latency_ms"])
def test_bad_latencies_are_one_line_errors(name, value):
    with pytest.raises(InputError, match=r"must be a finite number >= 0") as exc:
        LinkOptions(**{name: value})
    assert "\n" not in str(exc.value)


def test_bad_rates_and_names():
    with pytest.raises(InputError, match="--uplink must be a finite number > 0"):
        LinkOptions(uplink_mbps=0.0)
    with pytest.raises(InputError, match="unknown conventions"):
        LinkOptions(conventions="metric")
    with pytest.raises(InputError, match="prune_compute"):
        LinkOptions(prune_compute="quadratic")


def test_stored_round_trip_beside_the_stored_links():
    plain = LinkOptions()
    assert plain.stored() == {"conventions": "si", "overhead_ms": 1.66, "prune_compute": "none"}
    far = LinkOptions(uplink_mbps=8.0, uplink_latency_ms=1.0, latency_ms=30.0, overhead_ms=0.5)
    assert "latency_ms" not in far.stored()  # a link setting: the stored links hold it
    far_links = LinkSetting(uplink_mbps=8.0, uplink_latency_ms=1.0, latency_ms=30.0)
    assert LinkOptions.from_stored(far_links, far.stored()) == far
    assert LinkOptions.from_stored(LinkSetting(), plain.stored()) == LinkOptions(overhead_ms=1.66)


def test_planner_carries_the_latencies():
    options = LinkOptions(uplink_mbps=40.0, uplink_latency_ms=2.0, latency_ms=25.0)
    planner = planner_for("resnet", "MI8", bandwidth_mbps=5.0, options=options)
    links = planner.links
    assert (links.uplink_mbps, links.bandwidth_mbps) == (40.0, 5.0)
    assert links.uplink_fixed_ms == 4.0 and links.fixed_ms == 50.0
    paper = LinkOptions(conventions="cnnpc")
    cnnpc = planner_for("resnet", "MI8", bandwidth_mbps=5.0, options=paper)
    assert cnnpc.links.mbit_bits == cnnpc.profile.source_mbit_bits
