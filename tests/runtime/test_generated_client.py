"""An app's client: generated from the shipped .proto alone, it gets the labels `cnnpc infer` gets.

What a phone app does, in Python: run the plan's end part with a TFLite interpreter, quantize its
output as plan.json records, call Tier.Infer on the edge with a client protoc generated from
``cnnpc_tier.proto`` into a temporary folder, and read the int8 scores back with their scale and
zero point. The client runs in a process of its own (``python -I``) that imports only the
generated modules, grpc and numpy: none of cnnpc's code.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cnnpc.runtime import PlanClient, running_servers
from cnnpc.runtime.proto import PROTO

pytestmark = pytest.mark.slow

APP = """
import json, sys
import grpc
import numpy as np
sys.path.insert(0, sys.argv[1])
import cnnpc_tier_pb2 as pb, cnnpc_tier_pb2_grpc as pb_grpc
assert "cnnpc" not in sys.modules
features = np.load(sys.argv[2])
scale, zero_point = float(sys.argv[4]), int(sys.argv[5])
labels = []
with grpc.insecure_channel(sys.argv[3]) as channel:
    stub = pb_grpc.TierStub(channel)
    for feature in features:
        tensor = pb.Tensor(dtype=pb.INT8, shape=list(feature.shape), data=feature.tobytes(),
                           scale=scale, zero_point=zero_point)
        reply = stub.Infer(pb.InferRequest(tensor=tensor), timeout=30)
        assert reply.tensor.dtype == pb.INT8 and reply.timings_ms["edge_compute_ms"] > 0
        q = np.frombuffer(reply.tensor.data, np.int8).reshape(reply.tensor.shape)
        real = (q.astype(np.float32) - reply.tensor.zero_point) * reply.tensor.scale
        labels.append(int(np.argmax(real)))
print(json.dumps(labels))
"""


def _end_features(plan, images):
    """The end part's int8 outputs, as an app's TFLite interpreter computes them."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(plan.part_path("end")))
    interpreter.allocate_tensors()
    spec = plan.parts["end"].input
    out = []
    for image in images:
        x = np.clip(np.round(image[None] / spec.scale) + spec.zero_point, -128, 127)
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x.astype(np.int8))
        interpreter.invoke()
        out.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    return np.stack(out)


def test_a_client_generated_from_the_proto_gets_the_labels_of_cnnpc_infer(
    three_tier, data, tmp_path
):
    pytest.importorskip("grpc_tools")
    generated = tmp_path / "app"
    generated.mkdir()
    protoc = [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO.parent}"]
    protoc += [f"--python_out={generated}", f"--grpc_python_out={generated}", str(PROTO)]
    subprocess.run(protoc, check=True, capture_output=True)
    images = data.test.x[:8]
    np.save(tmp_path / "features.npy", _end_features(three_tier, images))
    (tmp_path / "app.py").write_text(APP)
    out = three_tier.parts["end"].output
    with running_servers(three_tier, shape=False) as edge:
        assert edge is not None
        with PlanClient(three_tier, edge) as cnnpc_client:
            expected = [cnnpc_client.infer(x).label for x in images]
        argv = [sys.executable, "-I", str(tmp_path / "app.py"), str(generated)]
        argv += [str(tmp_path / "features.npy"), f"{edge[0]}:{edge[1]}"]
        argv += [repr(out.scale), str(out.zero_point)]
        app = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert app.returncode == 0, app.stderr[-2000:]
    assert json.loads(app.stdout) == expected
