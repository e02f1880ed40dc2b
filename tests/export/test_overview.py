"""The overview (Summary block, `show --json` overview, PNG) prices baselines as the search did."""

from __future__ import annotations

import pytest
from storage.factories import populate

from cnnpc.export import collect, overview
from cnnpc.planner import LinkOptions, planner_for
from cnnpc.storage import Storage


@pytest.fixture
def storage(tmp_path):
    with Storage(f"sqlite:///{tmp_path / 'cnnpc.db'}") as s:
        yield s


def test_baselines_use_the_stored_link_options(storage):
    extra = {"conventions": "si", "overhead_ms": 1.0}
    search = populate(storage, bandwidth_mbps=5.0, latency_ms=5.0, extra=extra)
    view = overview(collect(storage, search.id))
    bars = {b.label: b for b in view.bars}
    options = LinkOptions(uplink_mbps=20.0, overhead_ms=1.0, latency_ms=5.0)
    planner = planner_for("mobilenet", "MI8", bandwidth_mbps=5.0, options=options)
    base = planner.baselines()
    assert bars["cloud only"].latency_ms == pytest.approx(base["cloud_only"].latency_ms)
    plain = planner_for("mobilenet", "MI8", bandwidth_mbps=5.0, overhead_ms=1.0).baselines()
    # the edge->cloud latency is paid there and back by the plan that uses that link
    assert bars["cloud only"].latency_ms == pytest.approx(plain["cloud_only"].latency_ms + 10.0)
    assert bars["end only"].latency_ms == pytest.approx(plain["end_only"].latency_ms)
    assert bars["best uncompressed"].latency_ms == pytest.approx(planner.best().latency_ms)
    assert view.value("Speedup vs best single tier") == pytest.approx(
        min(base[k].latency_ms for k in ("end_only", "edge_only", "cloud_only")) / 40.0
    )


def test_unknown_profile_keeps_the_block_and_says_why(storage):
    search = populate(storage, device="NoSuchPhone")
    view = overview(collect(storage, search.id))
    assert [b.label for b in view.bars] == ["best plan"]
    assert view.note is not None and view.note.startswith("baselines unavailable: ")
    assert view.value("Latency (ms)") == 40.0
    assert view.value("Speedup vs best single tier") is None
