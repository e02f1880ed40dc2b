"""A database server that accepts the connection but never answers fails within the timeout."""

from __future__ import annotations

import socket
import time

import pytest

from cnnpc.storage import Storage, StorageError, optuna_engine_kwargs
from cnnpc.storage._url import CONNECT_TIMEOUT_S, server_connect_args


@pytest.fixture
def silent_port():
    """A port whose listener completes TCP handshakes (backlog) but never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def test_default_and_url_timeouts():
    assert CONNECT_TIMEOUT_S <= 10
    assert server_connect_args("postgresql+psycopg://u@h/d") == {"connect_timeout": 10}
    assert server_connect_args("postgresql+psycopg://u@h/d?connect_timeout=3") == {}
    assert server_connect_args("sqlite:///r.db") == {}
    assert optuna_engine_kwargs("postgresql://h/d")["connect_args"] == {"connect_timeout": 10}


@pytest.mark.parametrize(("query", "limit"), [("?connect_timeout=2", 2), ("", CONNECT_TIMEOUT_S)])
def test_a_silent_server_fails_within_the_connect_timeout(silent_port, query, limit):
    url = f"postgresql+psycopg://cnnpc@127.0.0.1:{silent_port}/cnnpc{query}"
    start = time.monotonic()
    with pytest.raises(StorageError) as info:
        Storage(url, create=False)
    elapsed = time.monotonic() - start
    assert limit - 0.5 <= elapsed <= limit + 3
    message = str(info.value)
    assert message.startswith(f"cannot reach {url}: connection timeout expired")
    assert f"(no answer within the connect timeout, {limit} s;" in message  # the one in force
    assert "\n" not in message
