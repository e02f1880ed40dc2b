"""Tensor messages, status codes, channel targets and the token bucket (no TensorFlow, no
servers); at the end, the frames the upload path still speaks."""

from __future__ import annotations

import time

import grpc
import numpy as np
import pytest

from cnnpc.errors import CnnpcError, InputError
from cnnpc.records import TensorSpec
from cnnpc.runtime import TokenBucket, pay
from cnnpc.runtime._rpc import (
    REMOTE_TEXT,
    BadTensor,
    NextTierDown,
    NotHeld,
    Precondition,
    StatusError,
    TooLarge,
    check_timings,
    from_message,
    one_line,
    remote_text,
    status_of,
    to_message,
)
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb

SPEC = TensorSpec((1, 2, 2, 3), "int8", 0.25, -3)


def test_tensors_round_trip_with_their_quantization():
    x = np.arange(-6, 6, dtype=np.int8).reshape(1, 2, 2, 3)
    message = to_message(x, SPEC)
    assert (message.dtype, list(message.shape), message.zero_point) == (pb.INT8, [1, 2, 2, 3], -3)
    assert message.scale == pytest.approx(0.25)
    assert np.array_equal(from_message(message, SPEC), x)
    f = np.linspace(0, 1, 10, dtype=np.float32).reshape(1, 10)
    assert np.array_equal(from_message(to_message(f)), f)
    u = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert np.array_equal(from_message(to_message(u)), u)
    bare = to_message(x)  # no spec stated: scale 0, taken as "not said"
    assert bare.scale == 0 and np.array_equal(from_message(bare, SPEC), x)


@pytest.mark.parametrize(
    ("message", "expect", "text"),
    [
        (pb.Tensor(dtype=9, shape=[1], data=b"x"), None, "unknown tensor dtype code 9"),
        (pb.Tensor(dtype=pb.INT8, shape=[1] * 9, data=b"x"), None, "9 dimensions (at most 8)"),
        (pb.Tensor(dtype=pb.INT8, shape=[2, 3], data=b"12345"), None, "needs 6 bytes, got 5"),
        (pb.Tensor(dtype=pb.FLOAT32, shape=[2], data=b"1234"), None, "needs 8 bytes"),
        (pb.Tensor(dtype=pb.INT8, shape=[2**31, 2**31], data=b""), None, "needs"),
        (to_message(np.zeros((1, 3), np.int8)), SPEC, "the edge takes int8[1, 2, 2, 3], got"),
        (to_message(np.zeros(SPEC.shape, np.uint8)), SPEC, "got uint8[1, 2, 2, 3]"),
        (
            to_message(np.zeros(SPEC.shape, np.int8), TensorSpec(SPEC.shape, "int8", 0.5, -3)),
            SPEC,
            "takes scale 0.25 and zero point -3, got 0.5 and -3",
        ),
    ],
)
def test_a_wrong_tensor_is_one_line_of_invalid_argument(message, expect, text):
    with pytest.raises(BadTensor) as info:
        from_message(message, expect, "the edge")
    assert text in str(info.value) and "\n" not in str(info.value)
    assert status_of(info.value) == grpc.StatusCode.INVALID_ARGUMENT


def test_what_cannot_be_sent_is_refused():
    with pytest.raises(BadTensor, match="cannot send a int64"):
        to_message(np.zeros(3, np.int64))
    with pytest.raises(BadTensor, match="9 dimensions"):
        to_message(np.zeros([1] * 9, np.int8))


def test_errors_map_to_their_status_codes():
    expected = {
        BadTensor("x"): grpc.StatusCode.INVALID_ARGUMENT,
        NotHeld("x"): grpc.StatusCode.NOT_FOUND,
        Precondition("x"): grpc.StatusCode.FAILED_PRECONDITION,
        TooLarge("x"): grpc.StatusCode.RESOURCE_EXHAUSTED,
        NextTierDown("x"): grpc.StatusCode.UNAVAILABLE,
        StatusError("x", grpc.StatusCode.NOT_FOUND): grpc.StatusCode.NOT_FOUND,
        CnnpcError("x"): grpc.StatusCode.INVALID_ARGUMENT,
        InputError("x"): grpc.StatusCode.INVALID_ARGUMENT,
        ValueError("x"): grpc.StatusCode.INTERNAL,
    }
    for exc, code in expected.items():
        assert status_of(exc) == code, exc
    line = one_line(CnnpcError("first\x1b[2J\nsecond"))
    assert line == "first\\x1b[2J" and line.isprintable()


def test_a_peers_words_are_one_bounded_printable_line():
    text = remote_text(b"\x1b[2J\nsecond line\r\x07\xff" + b"y" * 5000)
    assert text.startswith(r"\x1b[2J\nsecond line\r\x07")
    assert text.isprintable() and len(text) == REMOTE_TEXT and text.endswith("…")
    assert remote_text("plain") == "plain"


@pytest.mark.parametrize(
    ("timings", "message"),
    [
        ({"edge_ms": float("nan")}, "finite"),
        ({"edge_ms": float("inf")}, "finite"),
        ({"\x1b[2J": 1.0}, "identifier"),
        ({"k" * 41: 1.0}, "identifier"),
        ({f"k{i}": 1.0 for i in range(33)}, "more than 32"),
    ],
)
def test_a_replys_timings_are_a_few_finite_named_numbers(timings, message):
    with pytest.raises(BadTensor, match=message):
        check_timings(timings)
    assert check_timings({"edge_compute_ms": 1.5}) == {"edge_compute_ms": 1.5}


def test_token_bucket_pays_debt_with_sleep():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(1000.0, burst=100, clock=lambda: now[0], sleep=sleep)
    assert bucket.consume(100) == 0.0  # the saved-up burst
    assert bucket.consume(100) == pytest.approx(0.1)
    now[0] += 0.05  # 50 tokens earned while away
    assert bucket.consume(100) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        TokenBucket(0.0)


def test_an_idle_bucket_lends_at_most_a_burst_of_the_current_rate():
    """A link slowed from 1 to 0.05 Mbps and left idle must not carry a 375-byte tensor
    faster than the slow rate (a fixed 256-byte burst made it look three times faster)."""
    now = [0.0]
    slept: list[float] = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(125_000.0, clock=lambda: now[0], sleep=sleep)
    assert bucket.burst == 12 and bucket.chunk == 256
    bucket.set_rate(6_250.0)
    now[0] += 10.0  # idle for 10 s
    start = now[0]
    pay(bucket, 375)
    assert now[0] - start == pytest.approx(375 / 6_250.0, abs=1e-3)
    fixed = TokenBucket(1000.0, burst=500, clock=lambda: now[0], sleep=sleep)
    fixed.set_rate(10.0)  # a burst the caller gave stays
    assert fixed.burst == 500


def test_paying_bytes_takes_them_over_the_rate():
    n, rate = 40_000, 1_000_000.0  # 40 ms at 1 MB/s
    bucket = TokenBucket(rate)
    start = time.perf_counter()
    pay(bucket, n)
    elapsed = time.perf_counter() - start
    expected = (n - bucket.burst) / rate
    assert expected * 0.95 <= elapsed <= expected * 1.5 + 0.01
    start = time.perf_counter()
    pay(None, n)  # no bucket: nothing to wait for
    assert time.perf_counter() - start < 0.005
