"""Cut a model at a plan's splits and convert every part to a full-int8 TFLite model.

Every tier runs TFLite: one interpreter for all of them, a part loads in milliseconds, the servers
need no TensorFlow graph runtime, and it is what ``cnnpc profile`` times. Every part takes and
gives int8 (the end part quantises the image on the device; the last part's int8 class scores
have the same argmax as their dequantised values).

A quantization-aware model carries its trained ranges in its fake-quant ops, so the converter
needs no data and a boundary gets the same scale and zero point on both sides (see
``segment_models``). A plain float model is quantised after training, calibrated on
representative images pushed through the parts before it; its boundary ranges are calibrated
twice (as the sender's output and the receiver's input) and the runtime requantises if they
differ.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cnnpc.errors import CnnpcError
from cnnpc.models import segment_models
from cnnpc.records import TensorSpec

if TYPE_CHECKING:
    from cnnpc._keras import KerasModel

CALIBRATION_IMAGES = 64


class ConversionError(CnnpcError):
    """The TFLite converter refused a part."""


def is_quantization_aware(model: KerasModel) -> bool:
    """True for a TF-MOT quantization-aware model (its fake-quant ranges are trained)."""
    return any(type(layer).__name__.startswith("Quantize") for layer in model.layers)


@dataclass(frozen=True)
class ConvertedPart:
    buffer: bytes
    input: TensorSpec
    output: TensorSpec


def convert_parts(
    model: KerasModel, boundaries: Sequence[str], images: npt.NDArray[np.float32]
) -> list[ConvertedPart]:
    """``len(boundaries) + 1`` int8 TFLite parts of `model` cut after the named layers.

    `images` (float32, the model's input size) calibrate a float model; a quantization-aware
    one ignores them.
    """
    segments = segment_models(model, boundaries)
    calibrate = not is_quantization_aware(model)
    x = images[:CALIBRATION_IMAGES].astype(np.float32)
    parts = []
    for segment in segments:
        buffer = to_int8_tflite(segment, x if calibrate else None)
        parts.append(ConvertedPart(buffer, *io_specs(buffer)))
        if calibrate:
            x = np.asarray(segment.predict(x, verbose=0), dtype=np.float32)
    return parts


def to_int8_tflite(segment: KerasModel, calibration: npt.NDArray[np.float32] | None) -> bytes:
    """Full-integer TFLite (int8 in and out) of one Keras segment; `calibration` images
    quantise a float segment after training (None: a quantization-aware one)."""

    def int8(converter: Any) -> None:
        from cnnpc._keras import tf

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        if calibration is not None:
            data = calibration

            def representative() -> Iterator[list[npt.NDArray[np.float32]]]:
                for i in range(len(data)):
                    yield [data[i : i + 1]]

            converter.representative_dataset = representative
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]

    return _converted(segment, int8)


def to_float_tflite(segment: KerasModel) -> bytes:
    """TFLite of one Keras segment as it is (float32 in, out and weights)."""
    return _converted(segment, lambda converter: None)


def _converted(segment: KerasModel, configure: Callable[[Any], None]) -> bytes:
    """Convert `segment`'s inference function with the options `configure` sets."""
    from cnnpc._keras import quiet, tf

    with tempfile.TemporaryDirectory(prefix="cnnpc-convert-") as folder, quiet():
        try:
            try:
                _save_serving(segment, folder)
                converter = tf.lite.TFLiteConverter.from_saved_model(folder)
            except Exception:  # a layer this route cannot save: the converter's own Keras route
                converter = tf.lite.TFLiteConverter.from_keras_model(segment)
            configure(converter)
            return bytes(converter.convert())
        except Exception as exc:  # the converter raises many types; all mean "cannot convert"
            text = str(exc).strip()
            first = text.splitlines()[0] if text else type(exc).__name__
            raise ConversionError(f"TFLite cannot convert {segment.name!r}: {first}") from None


def _save_serving(segment: KerasModel, folder: str) -> None:
    """Save only `segment`'s inference function as a SavedModel.

    The converter's own ``from_keras_model`` saves the Keras model whole, which traces every
    layer's call for Keras' loader: 3 to 4x the time of the conversion itself on a
    quantization-aware segment (25 s against 8 s for a tiny mobilenet's middle part). The
    signature is the one Keras writes (``serving_default``, the input layer's name in, the
    output layer's name out, any batch size), so the part is the same model: same tensors,
    same quantisation, same outputs (tests/deploy/test_convert.py).
    """
    from cnnpc._keras import tf

    inp = segment.inputs[0]
    spec = tf.TensorSpec((None, *inp.shape[1:]), inp.dtype, name=segment.input_names[0])
    out = segment.output_names[0]

    @tf.function(input_signature=[spec])  # type: ignore[untyped-decorator]
    def serve(x: Any) -> dict[str, Any]:
        return {out: segment(x, training=False)}

    module = tf.Module()
    module.weights = list(segment.weights)  # what `serve` captures, without the Keras model
    module.serve = serve
    tf.saved_model.save(
        module,
        folder,
        signatures={"serving_default": serve.get_concrete_function()},
        options=tf.saved_model.SaveOptions(save_debug_info=True),
    )


def io_specs(buffer: bytes) -> tuple[TensorSpec, TensorSpec]:
    """The input and output tensor of a TFLite model, with their quantisation."""
    from cnnpc._litert import load_interpreter

    interpreter = load_interpreter(buffer)
    inp = interpreter.get_input_details()
    out = interpreter.get_output_details()
    if len(inp) != 1 or len(out) != 1:
        raise ConversionError("a part must have exactly one input and one output")
    return _spec(inp[0]), _spec(out[0])


def _spec(detail: dict[str, Any]) -> TensorSpec:
    """A TFLite interpreter's tensor details (LiteRT's untyped dict) as a TensorSpec."""
    scale, zero = detail["quantization"]
    return TensorSpec(
        shape=tuple(int(d) for d in detail["shape"]),
        dtype=np.dtype(detail["dtype"]).name,
        scale=float(scale),
        zero_point=int(zero),
    )
