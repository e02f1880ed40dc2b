"""The records' one JSON form: what a plan document's head and the links' settings read back as
is what they write, key order and all; a wrong value is one line naming its key."""

from __future__ import annotations

import json

import pytest

from cnnpc.errors import InputError
from cnnpc.records import LinkSetting, PlanError, PlanHead

SINGLE = {
    "created_at": "2026-12-04T05:00:00+00:00",
    "cnnpc_version": "0.1.0",
    "model": "mobilenet",
    "search": {
        "id": 3,
        "storage": "sqlite:///results/cnnpc.db",
        "device": "MI8",
        "mode": "acc_floor",
        "target": 0.896,
        "uplink_mbps": 20.0,
        "bandwidth_mbps": 10.0,
        "conventions": "si",
        "trial": 7,
    },
    "workload": {"name": "digits", "image_size": 64, "trained_size": 64, "classes": ["0", "1"]},
    "plan": {
        "mode": "end_edge_cloud",
        "splits": ["block1", "block13"],
        "tiers": {"end": "block0-block1", "edge": "block2-block13"},
        "keep": {"block1": 0.5},
        "channels": {"block1": 8},
    },
    "accuracy": {"val": 0.95, "test": 0.94},
    "predicted": {"source": "search 3's best plan", "latency_ms": 38.25, "breakdown": {"a": 1.5}},
}
SET_PLAN = {
    **{k: SINGLE[k] for k in ("created_at", "cnnpc_version", "model")},
    "search": {k: v for k, v in SINGLE["search"].items() if k != "trial"},
    "workload": SINGLE["workload"],
    "plan": {"label": "P1", "mode": "end_edge", "splits": ["block10"], "keep": {}, "channels": {}},
    "accuracy": {"val": 0.95, "test": None},
    "predicted": {"source": "plan set of search 3", "latency_ms": None, "breakdown": {}},
}


@pytest.mark.parametrize(
    "document", [SINGLE, SET_PLAN, {}, {"model": "m"}], ids=["single", "set", "empty", "model"]
)
def test_a_head_writes_back_what_it_read_byte_for_byte(document):
    head = PlanHead.parse(document, "plan.json")
    assert json.dumps(head.as_dict(), indent=1) == json.dumps(document, indent=1)


def test_the_head_answers_what_the_runtime_asks():
    head = PlanHead.parse(SINGLE, "plan.json")
    assert head.search_id == 3 and head.workload_name == "digits" and head.trained_size == 64
    assert head.classes == ("0", "1") and head.channels == {"block1": 8}
    empty = PlanHead.parse({}, "plan.json")
    assert (empty.search_id, empty.workload_name, empty.classes, empty.channels) == (
        None,
        None,
        (),
        {},
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("search", {"id": "3"}, "plan.json: search.id: expected int, got str"),
        ("search", {"id": True}, "plan.json: search.id: expected int, got True"),
        ("workload", {"classes": "01"}, "plan.json: workload.classes: expected list"),
        ("plan", {"channels": {"block1": 0.5}}, "plan.json: plan.channels: expected whole"),
        ("predicted", {"breakdown": {"a": "1"}}, "plan.json: predicted.breakdown: expected"),
        ("model", 5, "plan.json.model: expected str, got int"),
        ("accuracy", [0.9], "plan.json.accuracy: expected dict, got list"),
    ],
)
def test_a_wrong_value_is_one_line_naming_its_key(key, value, message):
    with pytest.raises(PlanError) as info:
        PlanHead.parse({**SINGLE, key: value}, "plan.json")
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_link_settings_have_one_json_form():
    links = LinkSetting(uplink_mbps=8.0, bandwidth_mbps=3.0, latency_ms=20.0, message_ms=0.4)
    text = json.dumps(links.as_dict())
    assert list(links.as_dict()) == [
        "uplink_mbps",
        "bandwidth_mbps",
        "mbit_bits",
        "uplink_latency_ms",
        "latency_ms",
        "uplink_message_ms",
        "message_ms",
    ]
    assert LinkSetting.from_dict(json.loads(text)) == links
    with pytest.raises(TypeError):
        LinkSetting.from_dict({**links.as_dict(), "jitter_ms": 1.0})
    with pytest.raises(InputError, match="bandwidth_mbps must be"):
        LinkSetting.from_dict({**links.as_dict(), "bandwidth_mbps": 0.0})
