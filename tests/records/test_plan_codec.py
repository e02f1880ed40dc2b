"""plan.json names a link's codec only when it is not the default (int8 as it is): old plans load
and write back unchanged, a coded link round-trips, a bad codec is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnpc.codec import Codec
from cnnpc.records import PlanDocument, PlanError

GOLDEN = Path(__file__).parents[1] / "golden" / "data"


def _raw():
    return json.loads((GOLDEN / "deploy_plan.json").read_text(encoding="utf-8"))


def test_old_plans_have_the_default_codec_and_write_none():
    document = PlanDocument.parse(_raw(), "plan.json")
    assert document.links and all(lk.codec == Codec() for lk in document.links)
    assert all("codec" not in lk for lk in document.as_dict()["links"])
    assert all(lk.coded_bytes == lk.bytes for lk in document.links)


@pytest.mark.parametrize("codec", [Codec(4), Codec(3, "zstd"), Codec(8, "zstd")])
def test_a_coded_link_round_trips(codec):
    raw = _raw()
    int8 = next(i for i, lk in enumerate(raw["links"]) if lk["dtype"] == "int8")
    raw["links"][int8]["codec"] = codec.as_dict()
    document = PlanDocument.parse(raw, "plan.json")
    link = document.links[int8]
    assert link.codec == codec
    written = document.as_dict()["links"][int8]
    assert written["codec"] == codec.as_dict()
    count = link.bytes  # int8: one byte per element
    assert written["coded_bytes"] == link.coded_bytes == -(-count * codec.bits // 8)
    assert written["bytes"] == count  # the tensor's own bytes are kept as they were
    again = PlanDocument.parse(json.loads(json.dumps(document.as_dict())), "plan.json")
    assert again == document


@pytest.mark.parametrize(
    ("codec", "why"),
    [({"bits": 9, "entropy": "none"}, "1..8"), ({"bits": 4, "entropy": "lz4"}, "lz4"),
     ("int4", "an object"), ({"bits": 4, "level": 3}, "an object")],
)  # fmt: skip
def test_a_bad_codec_is_one_line(codec, why):
    raw = _raw()
    raw["links"][0]["codec"] = codec
    with pytest.raises(PlanError, match=r"plan.json: links\[0\]\.codec: .*" + why) as exc:
        PlanDocument.parse(raw, "plan.json")
    assert "\n" not in str(exc.value)


def test_a_float32_link_takes_no_codec():
    raw = _raw()
    raw["links"][0] |= {"dtype": "float32", "codec": {"bits": 4, "entropy": "none"}}
    with pytest.raises(PlanError, match=r"links\[0\]\.codec: a float32 tensor takes no codec"):
        PlanDocument.parse(raw, "plan.json")
