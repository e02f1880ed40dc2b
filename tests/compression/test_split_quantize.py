"""The fine-tune's split quantizer rounds exactly as the deployed codec does.

Tolerance: the layer computes in float32 what `cnnpc.codec` computes in float64. The codes agree
(a rounding tie, where float32 and float64 could pick different codes, has probability ~1e-7 per
element on these continuous values), so the values differ only by float32 rounding of
(code - zero) * scale: at most a few ulps of the range, bounded here by 1e-6 x (max - min).
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnpc import codec
from cnnpc._keras import keras, tf
from cnnpc.compression import (
    SplitQuantize,
    fake_quantize,
    insert_split_quantizers,
    quantization_aware,
    strip_split_quantizers,
)
from cnnpc.errors import InputError


def _examples() -> np.ndarray:
    rng = np.random.default_rng(3)
    batch = rng.normal(0.0, 1.0, (5, 6, 6, 7)).astype(np.float32)
    batch[1] = np.maximum(batch[1], 0.0) * 6.0  # a ReLU output: range [0, max]
    batch[2] = -np.abs(batch[2]) * 0.01  # all negative, tiny
    batch[3] = 0.0  # all zero: scale 1, every code the zero point
    batch[4] = batch[4] * 40.0 + 3.0  # wide, mostly positive
    return batch


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 5, 6, 7])
def test_the_fake_quant_is_the_codecs_quantize_dequantize(bits):
    batch = _examples()
    got = fake_quantize(tf.constant(batch), bits).numpy()
    for example, out in zip(batch, got, strict=True):  # the codec's range is one tensor's own
        want = codec.quantize(example, bits).dequantize()
        span = float(max(example.max(), 0.0) - min(example.min(), 0.0))
        assert np.max(np.abs(out - want)) <= 1e-6 * max(span, 1.0)
        assert len(np.unique(out)) <= 1 << bits
    assert np.all(got[3] == 0.0)


@pytest.mark.parametrize("bits", [2, 4, 7])
def test_after_int8_it_is_the_codecs_requantize(bits):
    """Deployed, the end part emits int8 and the codec requantizes it: the layer sees the int8
    values (TF-MOT's output quantizer) and must give what `requantize` then `dequantize` gives."""
    rng = np.random.default_rng(bits)
    ints = rng.integers(-128, 128, (9, 9, 5)).astype(np.int8)
    scale, zero = 0.037, -11
    real = ((ints.astype(np.float64) - zero) * scale).astype(np.float32)
    got = fake_quantize(tf.constant(real[None]), bits).numpy()[0]
    want = codec.requantize(ints, scale, zero, bits).dequantize()
    assert np.max(np.abs(got - want)) <= 1e-6 * (real.max() - min(real.min(), 0.0))


def test_gradients_pass_straight_through():
    x = tf.Variable(_examples())
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(SplitQuantize(3)(x) * 2.0)
    assert np.all(tape.gradient(y, x).numpy() == 2.0)


def test_the_layer_takes_1_to_7_bits():
    for bad in (0, 8, 9):
        with pytest.raises(InputError, match="bits"):
            SplitQuantize(bad)


def test_inserted_after_the_split_layer(small_models, spaces, images):
    model, space = small_models["mobilenet"], spaces["mobilenet"]
    assert insert_split_quantizers(model, space, ()) is model  # int8 everywhere: the same model
    coded = insert_split_quantizers(model, space, (("block1", 2),))
    assert len(coded.layers) == len(model.layers) + 1
    split = coded.get_layer("cnnpc_split_quantize_block1")
    assert split.input.name.startswith("expanded_conv_project_BN")
    assert not np.array_equal(coded.predict(images, verbose=0), model.predict(images, verbose=0))
    # every consumer of the split layer reads the quantizer: its output has 2-bit values
    probe = keras.Model(coded.input, coded.get_layer("block_1_expand").input)
    assert max(len(np.unique(t)) for t in probe.predict(images, verbose=0)) <= 4
    aware = quantization_aware(coded, preserve_sparsity=False)
    names = [layer.name for layer in aware.layers]
    assert "quant_cnnpc_split_quantize_block1" in names  # annotated, after TF-MOT's int8 quantizer
    assert names.index("quant_cnnpc_split_quantize_block1") > names.index(
        "quant_expanded_conv_project_BN"
    )
    assert aware.predict(images, verbose=0).shape == (len(images), 10)


def test_stripped_for_deployment_the_codec_rounds_instead(small_models, spaces, images):
    """A deployment cuts the model without its quantizers (the runtime's codec does their
    rounding): stripped, a plain model is the original again, and a quantization-aware one keeps
    every trained weight with the split layer's int8 tensor flowing on unrounded."""
    model, space = small_models["mobilenet"], spaces["mobilenet"]
    assert strip_split_quantizers(model) is model
    coded = insert_split_quantizers(model, space, (("block1", 2),))
    plain = strip_split_quantizers(coded)
    assert [layer.name for layer in plain.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(
        plain.predict(images, verbose=0), model.predict(images, verbose=0)
    )
    aware = quantization_aware(coded, preserve_sparsity=False)
    stripped = strip_split_quantizers(aware)
    names = [layer.name for layer in aware.layers]
    assert "quant_cnnpc_split_quantize_block1" in names
    assert [layer.name for layer in stripped.layers] == [
        n for n in names if n != "quant_cnnpc_split_quantize_block1"
    ]
    for layer in stripped.layers:
        want = aware.get_layer(layer.name).get_weights()
        for got, expected in zip(layer.get_weights(), want, strict=True):
            np.testing.assert_array_equal(got, expected)
    reads = keras.Model(stripped.input, stripped.get_layer("quant_block_1_expand").input)
    split = keras.Model(aware.input, aware.get_layer("quant_expanded_conv_project_BN").output)
    read = reads.predict(images, verbose=0)
    np.testing.assert_array_equal(read, split.predict(images, verbose=0))
    assert max(len(np.unique(t)) for t in read) > 4
