"""A server's answer is never trusted: its error text reaches the terminal escaped and cut, and a
result of the wrong shape or type is refused in one line."""

from __future__ import annotations

import socket
import threading

import numpy as np
import pytest

from cnnpc.runtime._client import PlanClient, RequestError
from cnnpc.runtime._frames import ERROR, RESULT, encode_result, read_frame, send_frame

pytestmark = pytest.mark.slow


def _fake_edge(answer):
    """A loopback server that answers every INFER with answer(request_id) = (type, payload)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        conn, _ = listener.accept()
        with conn:
            for _ in range(4):
                try:
                    frame = read_frame(conn, 1 << 24, 5.0, 5.0)
                except Exception:
                    return
                send_frame(conn, *answer(frame.request_id))

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (
            lambda rid: (ERROR, rid, ("\x1b[2J\nforged line " + "x" * 1000).encode()),
            r"the edge answered: \\x1b\[2J\\nforged line x+…$",
        ),
        (
            lambda rid: (RESULT, rid, encode_result({}, np.zeros((1, 3), np.int8))),
            r"the edge's result is int8\[1, 3\], the plan's output is",
        ),
        (
            lambda rid: (RESULT, rid, encode_result({}, np.zeros((2, 10), np.int8))),
            r"the edge's result is int8\[2, 10\]",
        ),
    ],
)
def test_a_hostile_edge_is_one_escaped_line(three_tier, data, answer, match):
    listener, address = _fake_edge(answer)
    try:
        with (
            PlanClient(three_tier, address, timeout=5.0) as client,
            pytest.raises(RequestError, match=match) as info,
        ):
            client.infer(data.test.x[0])
        text = str(info.value)
        assert "\n" not in text and "\x1b" not in text and len(text) < 400
    finally:
        listener.close()


def test_every_client_checks_a_result_in_the_connection_they_share(three_tier):
    """EdgeConnection.request is where the plain, adaptive and upload clients read a result:
    the plan's output spec is checked there, shape and type."""
    from cnnpc.runtime._client import EdgeConnection

    out = three_tier.parts["cloud"].output
    wrong = np.zeros(out.shape, np.float32)
    listener, address = _fake_edge(lambda rid: (RESULT, rid, encode_result({}, wrong)))
    connection = EdgeConnection(address, None, 5.0, 1 << 20)
    try:
        q = np.zeros((1, 4), np.int8)
        with pytest.raises(RequestError, match=r"the edge's result is float32\[1, 10\]"):
            connection.request(q, expect=out)
        _, result, _ = connection.request(q)  # no spec: the connection itself reads it
        assert result.dtype == np.float32
    finally:
        connection.close()
        listener.close()


def test_an_edge_relays_its_clouds_words_escaped(three_tier):
    """The edge passes a cloud's error on to its client: escaped and cut there already, so no
    raw escape sequence reaches the client's frame, its log or its terminal."""
    from cnnpc.runtime import PartServer
    from cnnpc.runtime._frames import INFER, encode_tensor

    hostile = ("\x1b[2J\nforged line " + "x" * 1000).encode()
    listener, cloud = _fake_edge(lambda rid: (ERROR, rid, hostile))
    spec = three_tier.parts["edge"].input
    try:
        with (
            PartServer(three_tier, "edge", next_address=cloud, shape=False) as edge,
            socket.create_connection(edge.address, timeout=60) as sock,
        ):
            send_frame(sock, INFER, 1, encode_tensor(np.zeros(spec.shape, spec.dtype)))
            frame = read_frame(sock, 1 << 16, 60.0)
        said = frame.payload.decode()
        assert frame.type == ERROR and said.startswith(r"next tier: \x1b[2J\nforged line x")
        assert said.isprintable() and len(said) < 400
    finally:
        listener.close()
