"""Frames, tensors and the token bucket (no TensorFlow, no servers)."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

from cnnpc.runtime import (
    ERROR,
    INFER,
    FrameError,
    PayloadError,
    PeerClosed,
    TokenBucket,
    decode_result,
    decode_tensor,
    encode_header,
    encode_result,
    encode_tensor,
    read_frame,
    send_frame,
)


def test_tensor_and_result_round_trip():
    x = np.arange(-6, 6, dtype=np.int8).reshape(1, 2, 2, 3)
    assert np.array_equal(decode_tensor(encode_tensor(x)), x)
    f = np.linspace(0, 1, 10, dtype=np.float32).reshape(1, 10)
    timings, y = decode_result(encode_result({"edge_compute_ms": 1.5}, f))
    assert timings == {"edge_compute_ms": 1.5} and np.array_equal(y, f)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "truncated"),
        (bytes([9, 1, 0, 0, 0, 1, 0]), "dtype code"),
        (bytes([1, 200]), "dimensions"),
        (bytes([1, 2, 0, 0]), "shape is truncated"),
        (encode_tensor(np.zeros((2, 3), np.int8))[:-1], "needs 6 bytes"),
    ],
)
def test_malformed_tensors_are_payload_errors(payload, message):
    with pytest.raises(PayloadError, match=message):
        decode_tensor(payload)


def test_frames_round_trip_and_bad_headers_are_refused():
    a, b = socket.socketpair()
    with a, b:
        send_frame(a, INFER, 7, b"abc")
        frame = read_frame(b, 10, 1.0)
        assert (frame.type, frame.request_id, frame.payload) == (INFER, 7, b"abc")
        send_frame(a, ERROR, 1, b"x" * 11)
        with pytest.raises(FrameError, match="over this peer's limit"):
            read_frame(b, 10, 1.0)
    for header, message in [
        (b"XXXX" + encode_header(INFER, 1, 0)[4:], "bad magic"),
        (encode_header(INFER, 1, 0)[:4] + b"\x09" + encode_header(INFER, 1, 0)[5:], "version"),
        (encode_header(99, 1, 0), "frame type"),
    ]:
        a, b = socket.socketpair()
        with a, b:
            a.sendall(header)
            with pytest.raises(FrameError, match=message):
                read_frame(b, 10, 1.0)


def test_a_stalled_or_dropped_frame_is_detected():
    a, b = socket.socketpair()
    with a, b:
        a.sendall(encode_header(INFER, 1, 100)[:10])
        start = time.monotonic()
        with pytest.raises(FrameError, match="timed out"):
            read_frame(b, 1000, 0.2)
        assert time.monotonic() - start < 1.0
    a, b = socket.socketpair()
    with b:
        a.sendall(encode_header(INFER, 1, 100) + b"x" * 10)
        a.close()
        with pytest.raises(PeerClosed, match="middle"):
            read_frame(b, 1000, 1.0)


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


def test_shaped_send_takes_bytes_over_rate():
    a, b = socket.socketpair()
    received = bytearray()

    def drain():
        while chunk := b.recv(65536):
            received.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    n, rate = 40_000, 1_000_000.0  # 40 ms at 1 MB/s
    bucket = TokenBucket(rate)
    start = time.perf_counter()
    send_frame(a, INFER, 1, b"x" * (n - 20), bucket)
    elapsed = time.perf_counter() - start
    a.close()
    reader.join()
    b.close()
    assert len(received) == n
    expected = (n - bucket.burst) / rate
    assert expected * 0.95 <= elapsed <= expected * 1.5 + 0.01


def test_a_peers_words_are_one_bounded_printable_line():
    from cnnpc.runtime._frames import REMOTE_TEXT, remote_text

    text = remote_text(b"\x1b[2J\nsecond line\r\x07\xff" + b"y" * 5000)
    assert text.startswith(r"\x1b[2J\nsecond line\r\x07")
    assert text.isprintable() and len(text) == REMOTE_TEXT and text.endswith("…")


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (b'{"edge_ms": NaN}', "finite"),
        (b'{"edge_ms": Infinity}', "finite"),
        (b'{"edge_ms": true}', "numbers"),
        (b'{"edge_ms": "1"}', "numbers"),
        (b'{"\\u001b[2J": 1}', "identifier"),
        (b'{"' + b"k" * 41 + b'": 1}', "identifier"),
        (b"{" + b",".join(b'"k%d": 1' % i for i in range(33)) + b"}", "at most 32"),
        (b"[1, 2]", "object"),
    ],
)
def test_a_results_timings_are_a_few_finite_named_numbers(meta, message):
    payload = len(meta).to_bytes(2, "big") + meta + encode_tensor(np.zeros((1, 2), np.int8))
    with pytest.raises(PayloadError, match=message):
        decode_result(payload)
