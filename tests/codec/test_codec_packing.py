"""The codec's pieces: dense packing, quantization and requantization bounds, zstd, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from cnnpc.codec import (
    DEFAULT_CODEC,
    Codec,
    Encoded,
    PayloadError,
    compress,
    decode,
    decompress,
    encode,
    pack,
    packed_size,
    parse_bits,
    quantize,
    requantize,
    to_int8,
    unpack,
)
from cnnpc.errors import InputError

COUNTS = (0, 1, 3, 7, 8, 9, 13, 64, 1001)


@pytest.mark.parametrize("bits", range(1, 9))
@pytest.mark.parametrize("count", COUNTS)
def test_packing_round_trips_exactly(bits, count):
    rng = np.random.default_rng(1000 * bits + count)
    codes = rng.integers(0, 1 << bits, size=count, dtype=np.uint8)
    payload = pack(codes, bits)
    assert len(payload) == packed_size(count, bits) == -(-count * bits // 8)
    assert np.array_equal(unpack(payload, count, bits), codes)


@pytest.mark.parametrize("bits", range(1, 9))
def test_extreme_codes_and_dense_layout(bits):
    top = (1 << bits) - 1
    codes = np.array([top, 0, top, top, 0, 1 % (top + 1), top], dtype=np.uint8)
    assert np.array_equal(unpack(pack(codes, bits), codes.size, bits), codes)
    # least significant bit first: one element of value 1 sets bit 0 of byte 0
    assert pack(np.array([1], dtype=np.uint8), bits)[0] == 1
    # the unused high bits of the last byte are zero
    assert pack(np.full(1, top, dtype=np.uint8), bits) == bytes([top])


def test_eight_bits_is_the_codes_own_bytes():
    codes = np.arange(256, dtype=np.uint8)
    assert pack(codes, 8) == codes.tobytes()


def test_two_bits_by_hand():
    assert pack(np.array([1, 2, 3, 0, 3], dtype=np.uint8), 2) == bytes([0b00111001, 0b00000011])


@pytest.mark.parametrize("bits", [1, 4, 7])
def test_pack_refuses_codes_out_of_range(bits):
    with pytest.raises(InputError, match=f"0..{(1 << bits) - 1}"):
        pack(np.array([1 << bits]), bits)
    with pytest.raises(InputError):
        pack(np.array([-1]), bits)


@pytest.mark.parametrize("bits", [0, 9])
def test_bits_outside_one_to_eight_are_refused(bits):
    with pytest.raises(InputError, match=r"1\.\.8"):
        pack(np.zeros(3, dtype=np.uint8), bits)
    with pytest.raises(InputError, match=r"1\.\.8"):
        Codec(bits)


@pytest.mark.parametrize(("count", "bits", "size"), [(9, 3, 3), (9, 3, 5), (10, 8, 9), (1, 1, 0)])
def test_a_payload_of_the_wrong_length_is_refused(count, bits, size):
    with pytest.raises(PayloadError, match=f"takes {packed_size(count, bits)} bytes, got {size}"):
        unpack(bytes(size), count, bits)


@pytest.mark.parametrize("bits", range(1, 9))
def test_quantize_error_is_at_most_half_a_step(bits):
    rng = np.random.default_rng(bits)
    for values in (
        rng.normal(size=(4, 5, 7)),
        np.maximum(rng.normal(size=301), 0.0),  # a ReLU output: zero must be exact
        rng.uniform(2.0, 3.0, size=11),  # all positive: the range is widened to hold 0
        np.zeros(5),
    ):
        q = quantize(values, bits)
        assert q.codes.dtype == np.uint8 and int(q.codes.max(initial=0)) < 1 << bits
        err = np.abs(q.dequantize() - values)
        assert err.max(initial=0.0) <= q.scale / 2 * (1 + 1e-9)
        assert np.all(q.dequantize()[values == 0] == 0)


@pytest.mark.parametrize("bits", range(1, 8))
def test_requantize_int8_bounds(bits):
    rng = np.random.default_rng(50 + bits)
    ints = rng.integers(-128, 128, size=(1, 6, 6, 5), dtype=np.int8)
    scale, zero = 0.05, -7
    real = (ints.astype(np.float64) - zero) * scale
    q = requantize(ints, scale, zero, bits)
    span = real.max() - min(real.min(), 0.0) if real.max() > 0 else -real.min()
    assert q.scale <= span / ((1 << bits) - 1) * (1 + 1e-12)
    assert np.abs(q.dequantize() - real).max() <= q.scale / 2 * (1 + 1e-9)
    # back on the receiver's int8 grid: within half a new step plus half an int8 step
    back = to_int8(q, scale, zero)
    assert np.abs((back.astype(np.float64) - zero) * scale - real).max() <= (
        q.scale / 2 + scale / 2
    ) * (1 + 1e-9)


def test_requantize_at_eight_bits_is_lossless():
    ints = np.arange(-128, 128, dtype=np.int8)
    q = requantize(ints, 0.1, 3, 8)
    assert np.array_equal(to_int8(q, 0.1, 3), ints)


def test_requantize_takes_int8_only():
    with pytest.raises(InputError, match="int8"):
        requantize(np.zeros(3, dtype=np.float32), 0.1, 0, 4)


def test_default_codec_sends_todays_bytes():
    rng = np.random.default_rng(7)
    ints = rng.integers(-128, 128, size=(1, 3, 3, 5), dtype=np.int8)
    coded = encode(ints, 0.02, -3, DEFAULT_CODEC)
    assert coded.payload == ints.tobytes()
    assert (coded.scale, coded.zero_point) == (0.02, -3)
    assert np.array_equal(decode(coded, ints.shape, 0.02, -3), ints)


@pytest.mark.parametrize("bits", range(1, 9))
@pytest.mark.parametrize("entropy", ["none", "zstd"])
def test_encode_decode_sizes_and_bounds(bits, entropy):
    rng = np.random.default_rng(bits)
    shape = (1, 5, 3, 7)  # 105 elements: odd
    ints = rng.integers(-128, 128, size=shape, dtype=np.int8)
    codec = Codec(bits, entropy)
    coded = encode(ints, 0.03, 4, codec)
    if entropy == "none":
        assert len(coded.payload) == packed_size(105, bits)
    back = decode(coded, shape, 0.03, 4)
    assert back.shape == shape and back.dtype == np.int8
    step = 255 / ((1 << bits) - 1)  # int8 steps per code step
    assert np.abs(back.astype(int) - ints.astype(int)).max() <= step / 2 + 0.5 + 1e-9


def test_zstd_round_trip_and_ratio_on_sparse_data():
    rng = np.random.default_rng(3)
    values = np.maximum(rng.normal(size=4096), 1.0) - 1.0  # ~84 % zeros, like a ReLU output
    for bits in (8, 4, 2):
        q = quantize(values, bits)
        packed = pack(q.codes, bits)
        coded = compress(packed, "zstd")
        assert decompress(coded, "zstd", len(packed)) == packed
        assert len(packed) / len(coded) >= 1.0
    assert len(packed) / len(compress(packed, "zstd")) > 1.5


def test_zstd_refuses_bad_payloads():
    packed = bytes(range(200))
    coded = compress(packed, "zstd")
    for bad, why in [
        (coded[:-3], "cut short"),
        (coded + b"xyz", "bytes after"),
        (b"not zstd at all", "not a zstd payload"),
    ]:
        with pytest.raises(PayloadError, match=why):
            decompress(bad, "zstd", 200)
    with pytest.raises(PayloadError, match="declares 200 bytes, expected 100"):
        decompress(coded, "zstd", 100)  # a frame that declares more is refused up front
    with pytest.raises(PayloadError, match="decodes to 199 bytes"):
        decompress(packed[:-1], "none", 200)


def test_decode_refuses_a_payload_of_another_shape():
    ints = np.zeros((1, 4, 4, 3), dtype=np.int8)
    coded = encode(ints, 0.1, 0, Codec(3))
    with pytest.raises(PayloadError, match="decodes to 18 bytes, expected 36"):
        decode(coded, (1, 4, 4, 3, 2), 0.1, 0)
    bad = Encoded(coded.payload, coded.codec, 0.1, 9)
    with pytest.raises(PayloadError, match="outside 3 bits"):
        decode(bad, ints.shape, 0.1, 0)


def test_a_missing_coder_is_one_line_saying_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(InputError, match=r'zstandard package: pip install "cnnpc\[codec\]"'):
        compress(b"abc", "zstd")


def test_codec_record_json_and_labels():
    assert Codec().is_default and Codec().label == "int8"
    assert Codec(4, "zstd").label == "4 bits + zstd" and Codec(1).label == "1 bit"
    assert Codec.from_dict(Codec(3, "zstd").as_dict()) == Codec(3, "zstd")
    for raw in ({"bits": 9}, {"bits": True}, {"entropy": "lz4"}, {"bits": 4, "x": 1}, [4]):
        with pytest.raises(InputError):
            Codec.from_dict(raw)


@pytest.mark.parametrize(
    ("text", "why"),
    [("8,9", "outside 1..8"), ("0", "outside"), ("4,4", "4 is repeated"), ("x", "not a bit width"),
     ("", "comma-separated"), ("8,,4", "comma-separated")],
)  # fmt: skip
def test_parse_bits_refuses(text, why):
    with pytest.raises(InputError, match=why):
        parse_bits(text)


def test_parse_bits_widest_first():
    assert parse_bits("2, 8,4") == (8, 4, 2)
