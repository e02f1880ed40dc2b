"""A plan whose links name a codec runs as priced: the sender codes the int8 split tensor
(`cnnpc.codec`), the receiver decodes it; the bytes sent are the bytes plan.json prices; a
payload that does not decode is INVALID_ARGUMENT and the server goes on; a codec this runtime
cannot run (an unknown one, a coder not installed) is one line before anything serves."""

from __future__ import annotations

import json
import math
import shutil
import sys

import grpc
import numpy as np
import pytest

from cnnpc.cli._main import main
from cnnpc.codec import Codec, Encoded, decode, encode
from cnnpc.deploy._codecs import entropy_measures, split_tensors
from cnnpc.records import PlanError, load_plan
from cnnpc.runtime import (
    Part,
    PartServer,
    PlanClient,
    dequantize,
    quantize,
    requantize,
    running_servers,
)
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb
from cnnpc.runtime.proto import cnnpc_tier_pb2_grpc as pb_grpc

pytestmark = pytest.mark.slow
INT8 = Codec()


def coded(three_tier, folder, up: Codec, down: Codec, ratios=(None, None)):
    """A copy of the three-tier plan whose end->edge and edge->cloud links are coded."""
    shutil.copytree(three_tier.folder, folder)
    doc = json.loads((folder / "plan.json").read_text())
    for link, codec, ratio in zip(doc["links"], (up, down), ratios, strict=True):
        if not codec.is_default:
            link["codec"] = codec.as_dict()
        if ratio is not None:
            link["entropy_ratio"] = ratio
    (folder / "plan.json").write_text(json.dumps(doc, indent=1))
    return load_plan(folder)


def coded_compose(plan, images):
    """Scores of `images` through the plan's parts in this process, each link's tensor coded and
    decoded with cnnpc.codec as plan.json says (its scale sent as the float32 it travels as)."""
    parts = [Part(plan.part_path(t), plan.parts[t]) for t in plan.parts]
    scores = []
    for image in images:
        q = quantize(image[np.newaxis], parts[0].spec.input)
        for i, part in enumerate(parts):
            if i:
                link = plan.link(parts[i - 1].spec.tier)
                spec = link.spec
                sent = encode(q, spec.scale, spec.zero_point, link.codec)
                scale = sent.scale if link.codec.bits == 8 else float(np.float32(sent.scale))
                wire = Encoded(sent.payload, link.codec, scale, sent.zero_point)
                q = decode(wire, spec.shape, spec.scale, spec.zero_point)
                q = requantize(q, spec, part.spec.input)
            q, _ = part.run(q)
        scores.append(dequantize(q, parts[-1].spec.output)[0])
    return np.array(scores)


@pytest.mark.parametrize("bits", [4, 2])
def test_the_bytes_sent_are_the_bytes_priced(three_tier, tmp_path, data, bits):
    """(8 bits without a coder is the int8 link of every plan: its raw tensor, whose length
    the servers check; 8 bits with zstd is below.)"""
    plan = coded(three_tier, tmp_path / "p", Codec(bits), Codec(bits))
    with running_servers(plan, shape=False) as edge, PlanClient(plan, edge) as client:
        results = [client.infer(x) for x in data.test.x[:3]]
    for link in plan.links:
        name = f"{link.source}->{link.target}"
        priced = math.ceil(math.prod(link.spec.shape) * bits / 8)  # elements x bits / 8
        assert link.predicted_bytes == link.coded_bytes == priced
        assert [r.sent_bytes[name] for r in results] == [priced] * 3
    timings = results[0].timings
    assert {"end_encode_ms", "edge_decode_ms", "edge_encode_ms", "cloud_decode_ms"} <= set(timings)


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_zstd_sends_what_the_recorded_ratio_prices(three_tier, tmp_path, data, bits):
    """The ratio measured as deploy measures it, on the very image sent: the prediction is
    exact (zstd is deterministic)."""
    codec = Codec(bits, "zstd")
    image = data.test.x[:1]
    parts = [three_tier.parts[t] for t in three_tier.parts]
    files = {p.file: three_tier.part_path(p.tier).read_bytes() for p in parts}
    tensors = split_tensors(parts, files, image)
    from cnnpc.codec import CodecChoice

    measures = entropy_measures(three_tier.links, tensors, CodecChoice((bits,), "zstd"))
    ratios = tuple(m.ratio for m in measures)
    # the end's 16x16x8 feature compresses; the edge's 2x2x24 one is about zstd's frame header
    assert len(ratios) == 2 and ratios[0] > 1.5 and ratios[1] > 0.5
    plan = coded(three_tier, tmp_path / "z", codec, codec, ratios)
    with running_servers(plan, shape=False) as edge, PlanClient(plan, edge) as client:
        sent = client.infer(image[0]).sent_bytes
    for link in plan.links:
        name = f"{link.source}->{link.target}"
        assert sent[name] == pytest.approx(link.predicted_bytes, rel=1e-9)


def test_a_four_bit_link_serves_the_labels_of_its_decoded_tensors(three_tier, tmp_path, data):
    plan = coded(three_tier, tmp_path / "four", Codec(4), INT8)
    images = data.test.x[:12]
    with running_servers(plan, shape=False) as edge, PlanClient(plan, edge) as client:
        results = [client.infer(x) for x in images]
    local = coded_compose(plan, images)
    assert np.array_equal(np.array([r.scores for r in results]), local)
    assert [r.label for r in results] == [int(np.argmax(s)) for s in local]
    assert "edge_encode_ms" not in results[0].timings  # the int8 link is sent as before
    assert set(results[0].sent_bytes) == {"end->edge"}


@pytest.fixture(scope="module")
def four_bit_servers(three_tier, tmp_path_factory):
    plan = coded(three_tier, tmp_path_factory.mktemp("c") / "p", Codec(4), Codec(4))
    cloud = PartServer(plan, "cloud")
    edge = PartServer(plan, "edge", next_address=cloud.start())
    with cloud, edge:
        yield plan, edge


def _feature(plan, data):
    end = Part(plan.part_path("end"), plan.parts["end"])
    return end.run(quantize(data.test.x[:1], plan.parts["end"].input))[0]


@pytest.mark.parametrize(
    "damage",
    [lambda m: m.data[:-1], lambda m: m.data + b"\x00", lambda m: b""],
    ids=["short", "long", "empty"],
)
def test_a_malformed_payload_is_refused_and_the_server_goes_on(four_bit_servers, data, damage):
    plan, edge = four_bit_servers
    link = plan.link("end")
    words = f"expected {link.coded_bytes}"
    sent = encode(_feature(plan, data), link.spec.scale, link.spec.zero_point, link.codec)
    good = pb.Tensor(
        dtype=pb.INT8,
        shape=list(link.spec.shape),
        data=sent.payload,
        scale=sent.scale,
        zero_point=sent.zero_point,
        codec=pb.Codec(bits=4),
    )
    bad = pb.Tensor()
    bad.CopyFrom(good)
    bad.data = damage(good)
    channel = grpc.insecure_channel(f"{edge.address[0]}:{edge.address[1]}")
    try:
        stub = pb_grpc.TierStub(channel)
        for message, expect in ((bad, words), (_recoded(good, 3), "takes its tensor as 4 bits")):
            with pytest.raises(grpc.RpcError) as info:
                stub.Infer(pb.InferRequest(tensor=message), timeout=30)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert expect in info.value.details() and "\n" not in info.value.details()
        plain = pb.Tensor()
        plain.CopyFrom(good)
        plain.ClearField("codec")  # an int8 tensor where the plan codes it: refused too
        with pytest.raises(grpc.RpcError) as info:
            stub.Infer(pb.InferRequest(tensor=plain), timeout=30)
        assert "takes its tensor as 4 bits, got int8" in info.value.details()
        reply = stub.Infer(pb.InferRequest(tensor=good), timeout=30)  # still serving
        assert list(reply.tensor.shape) == list(plan.parts["cloud"].output.shape)
        assert reply.sent_bytes["edge"] == plan.link("edge").coded_bytes
    finally:
        channel.close()


def _recoded(message, bits):
    out = pb.Tensor()
    out.CopyFrom(message)
    out.codec.bits = bits
    return out


def test_an_unknown_codec_on_the_wire_is_refused(four_bit_servers, data):
    _, edge = four_bit_servers
    channel = grpc.insecure_channel(f"{edge.address[0]}:{edge.address[1]}")
    try:
        stub = pb_grpc.TierStub(channel)
        for codec, words in ((pb.Codec(bits=4, entropy=7), "entropy coder code 7"),
                             (pb.Codec(bits=12), "unknown codec")):  # fmt: skip
            message = pb.Tensor(dtype=pb.INT8, shape=[1], data=b"\x00", codec=codec)
            with pytest.raises(grpc.RpcError) as info:
                stub.Infer(pb.InferRequest(tensor=message), timeout=30)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert words in info.value.details()
    finally:
        channel.close()


def test_a_codec_plan_json_does_not_know_is_one_line(three_tier, tmp_path):
    folder = tmp_path / "lz4"
    shutil.copytree(three_tier.folder, folder)
    doc = json.loads((folder / "plan.json").read_text())
    doc["links"][0]["codec"] = {"bits": 4, "entropy": "lz4"}
    (folder / "plan.json").write_text(json.dumps(doc))
    with pytest.raises(PlanError, match=r"links\[0\]\.codec: unknown entropy coder 'lz4'"):
        load_plan(folder)


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--role", "edge", "--port", "0"],
        ["infer", "--edge", "127.0.0.1:9", "--limit", "1"],
        ["validate", "7", "--requests", "1"],  # the plan's search is 7 (tests/deploy/plans.py)
    ],
    ids=["serve", "infer", "validate"],
)
def test_a_coder_not_installed_is_one_line_saying_how_to_install(
    three_tier, tmp_path, capsys, monkeypatch, argv
):
    folder = tmp_path / "z"
    coded(three_tier, folder, Codec(4, "zstd"), INT8)
    monkeypatch.setitem(sys.modules, "zstandard", None)  # as on an install without the extra
    with pytest.raises(PlanError, match="end->edge: codec 4 bits"):
        PartServer(load_plan(folder), "edge", port=0)
    capsys.readouterr()
    code = main([*argv, "--plan", str(folder)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "codec 4 bits + zstd" in err and 'pip install "cnnpc[codec]"' in err, err


class _CostModel:
    """Every segment 0.1 ms on every tier (validate's prediction needs a host profile)."""

    image_size = 32

    def segment_ms(self, tier, channels):
        return [0.1] * 8


def test_validate_reports_bytes_on_the_wire_against_the_prediction(three_tier, tmp_path):
    from cnnpc.validate import validate, validation_text

    plan = coded(three_tier, tmp_path / "v", Codec(2), Codec(4))
    report = validate(7, requests=4, warmup=1, plan_dir=plan.folder, cost_model=_CostModel())
    rows = {r.link: r for r in report.links}
    assert set(rows) == {"end->edge", "edge->cloud"}
    for link in plan.links:
        row = rows[f"{link.source}->{link.target}"]
        assert row.measured_bytes == row.predicted_bytes == link.coded_bytes
        assert row.bytes_error_pct == 0 and row.encode_ms > 0 and row.decode_ms > 0
    assert report.as_dict()["links"][0]["codec"] == "2 bits"
    assert "end->edge coded as 2 bits" in validation_text(report)
    plain = validate(7, requests=1, warmup=0, plan_dir=three_tier.folder, cost_model=_CostModel())
    assert "links" not in plain.as_dict() and not plain.links  # an int8 plan's report as before


def test_a_relayed_coded_tensor_is_decoded_once_by_the_cloud(tmp_path, data):
    """end->cloud through the edge: one codec on both links, as the planners price it; the
    edge passes the coded tensor on untouched."""
    from deploy.plans import make_plan, three_tier_plan

    from cnnpc.deploy import Layout

    relay = make_plan(tmp_path / "relay", three_tier_plan()[1], data, Layout(3, 3, 8))
    plan = coded(relay, tmp_path / "coded", Codec(4), Codec(4))
    images = data.test.x[:5]
    with running_servers(plan, shape=False) as edge, PlanClient(plan, edge) as client:
        results = [client.infer(x) for x in images]
    assert np.array_equal(np.array([r.scores for r in results]), coded_compose(plan, images))
    t = results[0].timings
    assert "cloud_decode_ms" in t and not {"edge_decode_ms", "edge_encode_ms"} & set(t)
    size = plan.links[0].coded_bytes
    assert results[0].sent_bytes == {"end->edge": size, "edge->cloud": size}
