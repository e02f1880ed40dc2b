"""LiteRT gives the numbers tf.lite gave: every part of the session's deployed test plans, run by
the runtime's Part (LiteRT's interpreter) and by the deprecated tf.lite.Interpreter it replaced,
on the same inputs, gives bit-for-bit the same int8 outputs, at one thread and at several."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from deploy.plans import compose, end_only_plan, make_plan, three_tier_plan, tiny_model

from cnnpc._keras import quiet, tf
from cnnpc.deploy import Layout
from cnnpc.runtime import Part, quantize, requantize

pytestmark = pytest.mark.slow
IMAGES = 16


def _tf_lite(path, threads):
    with quiet(), warnings.catch_warnings():  # its deprecation warning: the point of the move
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
    into = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]

    def run(x):
        interpreter.set_tensor(into, x)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(out))

    return run


@pytest.fixture(scope="module")
def plans(three_tier, data, tmp_path_factory):
    """The deployed test plans: the session's end/edge/cloud plan, the relay layout, the edge to
    the end (a plan set's P2), the whole model on the end, and a post-training int8 plan
    (calibrated ranges: requantised boundaries)."""
    root = tmp_path_factory.mktemp("parity")
    model = three_tier_plan()[1]
    return {
        "three_tier": three_tier,
        "relay": make_plan(root / "relay", model, data, Layout(3, 3, 8)),
        "edge_to_end": make_plan(root / "p2", model, data, Layout(2, 8, 8)),
        "end_only": end_only_plan(root / "end"),
        "calibrated": make_plan(root / "ptq", tiny_model(data, qat=False), data, Layout(2, 5, 8)),
    }


@pytest.mark.parametrize("name", ["three_tier", "relay", "edge_to_end", "end_only", "calibrated"])
@pytest.mark.parametrize("threads", [1, 2])
def test_every_part_gives_tf_lites_int8_outputs_bit_for_bit(plans, data, name, threads):
    plan = plans[name]
    tiers = list(plan.parts)
    rng = np.random.default_rng(threads)
    images = data.test.x[:IMAGES]
    x = quantize(images, plan.parts[tiers[0]].input)  # the end part's input, a batch of images
    inputs = [x[i : i + 1] for i in range(IMAGES)]
    compared = 0
    for i, tier in enumerate(tiers):
        spec = plan.parts[tier]
        if i:
            inputs = [requantize(q, plan.parts[tiers[i - 1]].output, spec.input) for q in inputs]
        noise = rng.integers(-128, 128, size=(4, *spec.input.shape), dtype=np.int8)
        ours = Part(plan.part_path(tier), spec, threads=threads)
        theirs = _tf_lite(plan.part_path(tier), threads)
        outputs = []
        for q in [*inputs, *noise]:  # the plan's own activations, and the whole int8 range
            got, _ = ours.run(q)
            expected = theirs(q)
            assert got.dtype == expected.dtype == np.int8
            assert got.tobytes() == expected.tobytes(), (name, tier, threads)
            outputs.append(got)
            compared += 1
        if i < len(tiers) - 1:  # the images are not alike to the plan (its scores may saturate)
            assert len({o.tobytes() for o in outputs[:IMAGES]}) > 1
        inputs = outputs[:IMAGES]
    assert compared == len(tiers) * (IMAGES + 4)


SERVE_AND_INFER = """
import sys
import numpy as np
from cnnpc.records import load_plan
from cnnpc.runtime import PlanClient, running_servers
plan = load_plan(sys.argv[1])
images = np.load(sys.argv[2])
with running_servers(plan, shape=True) as edge, PlanClient(plan, edge, shape=True) as client:
    labels = [client.infer(x).label for x in images]
print(labels, sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "tf_keras")))
"""


def test_serving_and_inferring_a_plan_never_imports_tensorflow(three_tier, data, tmp_path):
    """The edge and cloud servers and the end client of a plan, all in one fresh process."""
    images = data.test.x[:4]
    np.save(tmp_path / "images.npy", images)
    argv = [
        sys.executable,
        "-c",
        SERVE_AND_INFER,
        str(three_tier.folder),
        str(tmp_path / "images.npy"),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = [int(label) for label in compose(three_tier, images).argmax(1)]
    assert done.stdout.strip() == f"{expected} []", done.stdout
