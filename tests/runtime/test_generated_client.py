"""An app's client: generated from the shipped .proto alone, it gets the labels `cnnpc infer` gets.

What a phone app does, in Python: run the plan's end part with a TFLite interpreter, quantize its
output as plan.json records, call Tier.Infer on the edge with a client protoc generated from
``cnnpc_tier.proto`` (into a temporary folder: none of cnnpc's runtime client code), read the
int8 scores back with their scale and zero point.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import grpc
import numpy as np
import pytest

from cnnpc.runtime import PlanClient, running_servers
from cnnpc.runtime.proto import PROTO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The modules grpcio-tools generates from the shipped .proto, imported from a temp folder."""
    pytest.importorskip("grpc_tools")
    out = tmp_path_factory.mktemp("app_client")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTO.parent}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            str(PROTO),
        ],
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(out))
    try:
        messages = importlib.import_module("cnnpc_tier_pb2")
        services = importlib.import_module("cnnpc_tier_pb2_grpc")
    finally:
        sys.path.remove(str(out))
    assert Path(messages.__file__).parent == out  # not cnnpc's own copy
    yield messages, services
    for name in ("cnnpc_tier_pb2", "cnnpc_tier_pb2_grpc"):
        sys.modules.pop(name, None)


def _end_feature(plan, image):
    """The end part's int8 output for one image, as an app's TFLite interpreter computes it."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(plan.part_path("end")))
    interpreter.allocate_tensors()
    spec = plan.parts["end"].input
    x = np.clip(np.round(image[None] / spec.scale) + spec.zero_point, -128, 127).astype(np.int8)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def test_a_client_generated_from_the_proto_gets_the_labels_of_cnnpc_infer(
    three_tier, data, generated
):
    pb, pb_grpc = generated
    out = three_tier.parts["end"].output
    images = data.test.x[:8]
    with running_servers(three_tier, shape=False) as edge:
        assert edge is not None
        with PlanClient(three_tier, edge) as cnnpc_client:
            expected = [cnnpc_client.infer(x).label for x in images]
        with grpc.insecure_channel(f"{edge[0]}:{edge[1]}") as channel:
            stub = pb_grpc.TierStub(channel)
            labels = []
            for image in images:
                feature = _end_feature(three_tier, image)
                request = pb.InferRequest(
                    tensor=pb.Tensor(
                        dtype=pb.INT8,
                        shape=list(feature.shape),
                        data=feature.tobytes(),
                        scale=out.scale,
                        zero_point=out.zero_point,
                    )
                )
                reply = stub.Infer(request, timeout=30)
                assert reply.tensor.dtype == pb.INT8
                scores = np.frombuffer(reply.tensor.data, np.int8).reshape(reply.tensor.shape)
                real = (scores.astype(np.float32) - reply.tensor.zero_point) * reply.tensor.scale
                labels.append(int(np.argmax(real)))
                assert reply.timings_ms["edge_compute_ms"] > 0
    assert labels == expected
