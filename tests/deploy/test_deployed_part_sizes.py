"""The part sizes `cnnpc plan` predicts (no TensorFlow: layers.csv and params.csv, pruned by the
keep rule) against the weights in the session's deployed three-tier plan (a mobilenet at width
0.35, block6 kept at 0.5, end [0, 2) / edge [2, 5) / cloud [5, 8))."""

from __future__ import annotations

from collections import defaultdict

from deploy.plans import SIZE, SPACE

from cnnpc.compression import prune_channels, split_layer
from cnnpc.layergraph.generate import extract_layers
from cnnpc.models import build_model, segment_models
from cnnpc.profiles import segment_weights

KEEP = {"block6": 0.5}
SPANS = {"end": (0, 2), "edge": (2, 5), "cloud": (5, 8)}


def _constant_bytes(buffer: bytes) -> int:
    """Bytes of the flatbuffer's constant tensors (weights, biases): what a part holds."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(buffer, 0)
    total = 0
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            data = model.buffers[tensor.buffer].data
            total += 0 if data is None else len(data)
    return total


def test_predicted_part_sizes_are_the_deployed_weights(three_tier, data):
    model = build_model("mobilenet", data.num_classes, SIZE, alpha=0.35)  # unpruned
    boundaries = [split_layer(c) for c in SPACE.candidates]
    rows = extract_layers(model, boundaries)
    params: dict[int, int] = defaultdict(int)
    for row in rows:
        params[row.segment] += int(model.get_layer(row.name).count_params())
    weights = segment_weights(rows, SPACE, tuple(params[k] for k in range(8)), 8)
    predicted = weights.counts(KEEP)
    # the rule is the surgery's: the pruned Keras segments hold exactly these parameters
    pruned = prune_channels(model, SPACE, KEEP).model
    assert [int(s.count_params()) for s in segment_models(pruned, boundaries)] == list(predicted)
    report = []
    for tier, (start, stop) in SPANS.items():
        buffer = three_tier.part_path(tier).read_bytes()
        expected = sum(predicted[start:stop])  # int8: one byte per parameter
        held = _constant_bytes(buffer)
        report.append(f"{tier}: predicted {expected}, constants {held}, file {len(buffer)}")
        # int8 kernels are one byte per weight; a batch norm's 4 parameters per channel fold
        # into an int32 bias (4 bytes); the head's Dense bias is int32 (4 bytes, not 1)
        assert abs(held - expected) <= 0.02 * expected + 4 * data.num_classes, report
        # the file adds the flatbuffer: per-channel scales and zero points, names, operators
        # (tens of KB at this tiny width, so the weights are the part's lower bound)
        assert expected <= len(buffer) <= expected + 256 * 1024, report
    print("\n".join(report))
