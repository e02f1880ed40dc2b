"""A part converted from its inference function alone is the part the converter's own Keras
route makes (``TFLiteConverter.from_keras_model``, which saves the whole Keras model first)."""

from __future__ import annotations

import numpy as np
import pytest
from deploy.plans import SPACE

from cnnpc._litert import load_interpreter
from cnnpc.compression import split_layer
from cnnpc.deploy import ConversionError, io_specs, to_float_tflite, to_int8_tflite
from cnnpc.models import segment_models

pytestmark = pytest.mark.slow


def keras_route(segment, calibration, int8=True) -> bytes:
    """The converter's own route from a Keras model, with deploy's options."""
    from cnnpc._keras import quiet, tf

    converter = tf.lite.TFLiteConverter.from_keras_model(segment)
    if int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    if calibration is not None:
        converter.representative_dataset = lambda: ([calibration[i : i + 1]] for i in range(8))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with quiet():
        return bytes(converter.convert())


def outputs(buffer: bytes, inputs: np.ndarray) -> np.ndarray:
    interpreter = load_interpreter(buffer)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    result = []
    for x in inputs:
        interpreter.set_tensor(inp["index"], x[np.newaxis])
        interpreter.invoke()
        result.append(interpreter.get_tensor(out["index"]).copy())
    return np.concatenate(result)


def same_model(ours: bytes, theirs: bytes, inputs: np.ndarray) -> None:
    a, b = load_interpreter(ours), load_interpreter(theirs)
    assert a.get_signature_list() == b.get_signature_list()
    assert [d["name"] for d in a.get_tensor_details()] == [
        d["name"] for d in b.get_tensor_details()
    ]
    assert io_specs(ours) == io_specs(theirs)
    assert len(ours) == len(theirs)
    assert np.array_equal(outputs(ours, inputs), outputs(theirs, inputs))


@pytest.fixture(scope="module")
def first_segment(qat_model):
    return segment_models(qat_model, [split_layer(SPACE.candidates[1])])[0]


def test_a_quantization_aware_part_is_the_keras_routes_part(first_segment):
    ours = to_int8_tflite(first_segment, None)
    spec = io_specs(ours)[0]
    assert load_interpreter(ours).get_signature_list() == {
        "serving_default": {"inputs": [first_segment.input_names[0]], "outputs": [
            first_segment.output_names[0]
        ]}
    }  # fmt: skip
    rng = np.random.default_rng(0)
    inputs = rng.integers(-128, 128, size=(20, *spec.shape[1:]), dtype=np.int8)
    same_model(ours, keras_route(first_segment, None), inputs)


def test_a_float_part_calibrated_and_as_is_are_the_keras_routes_parts(data):
    from cnnpc.models import build_model

    model = build_model("mobilenet", data.num_classes, 32, alpha=0.35)
    segment = segment_models(model, [split_layer(SPACE.candidates[1])])[0]
    calibration = data.train.x[:8].astype(np.float32)
    ours = to_int8_tflite(segment, calibration)
    spec = io_specs(ours)[0]
    rng = np.random.default_rng(1)
    inputs = rng.integers(-128, 128, size=(20, *spec.shape[1:]), dtype=np.int8)
    same_model(ours, keras_route(segment, calibration), inputs)
    as_is = to_float_tflite(segment)
    assert io_specs(as_is)[0].dtype == "float32"
    same_model(as_is, keras_route(segment, None, int8=False), data.test.x[:5].astype(np.float32))


def test_a_segment_the_lean_save_refuses_goes_the_converters_keras_route(data, monkeypatch):
    import cnnpc.deploy._convert as convert_module
    from cnnpc.models import build_model

    def refuse(segment, folder):
        raise ValueError("cannot trace this layer")

    monkeypatch.setattr(convert_module, "_save_serving", refuse)
    model = build_model("mobilenet", data.num_classes, 32, alpha=0.35)
    segment = segment_models(model, [split_layer(SPACE.candidates[1])])[0]
    images = data.test.x[:5].astype(np.float32)
    same_model(to_float_tflite(segment), keras_route(segment, None, int8=False), images)


def test_a_part_the_converter_refuses_is_one_error(first_segment, monkeypatch):
    from types import SimpleNamespace

    from cnnpc._keras import tf

    def refuse():
        raise RuntimeError("op FOO is not supported\nmore detail")

    def refusing(folder):
        return SimpleNamespace(target_spec=SimpleNamespace(), convert=refuse)

    monkeypatch.setattr(tf.lite.TFLiteConverter, "from_saved_model", refusing)
    calibration = np.full((1, 32, 32, 3), 0.25, np.float32)  # not a conversion made before
    with pytest.raises(
        ConversionError, match=r"^TFLite cannot convert '.*': op FOO is not supported$"
    ):
        to_int8_tflite(first_segment, calibration)
