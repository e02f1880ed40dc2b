"""No secret of a storage URL in any output: display_url masks it wherever it is, driver
messages are scrubbed, and a connect_timeout that would not say what it does is refused."""

from __future__ import annotations

import socket
import time

import pytest

from cnnpc.storage import Storage, StorageError, display_url
from cnnpc.storage._engine import storage_error
from cnnpc.storage._url import connect_timeout_s, scrub

SECRET = "TOPSECRET1"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bob:pw@db:5432/cnnpc", "postgresql://bob:***@db:5432/cnnpc"),
        (f"postgresql+psycopg://u@h:1/db?password={SECRET}", "postgresql+psycopg://u@h:1/db?password=***"),
        (f"postgresql://h/db?PassWord={SECRET}&user=u", "postgresql://h/db?PassWord=***&user=u"),
        (f"postgresql://h/db?sslpassword={SECRET}", "postgresql://h/db?sslpassword=***"),
        (f"postgresql://h/db?pwd={SECRET}&PASS={SECRET}", "postgresql://h/db?PASS=***&pwd=***"),
        (f"mysql://u:{SECRET}@h/db?client_secret={SECRET}", "mysql://u:***@h/db?client_secret=***"),
        (f"postgresql://h/db?password={SECRET}&password=x2", "postgresql://h/db?password=***"),
        ("postgresql://h/db?sslmode=require", "postgresql://h/db?sslmode=require"),
        ("sqlite:///results/cnnpc.db", "sqlite:///results/cnnpc.db"),
    ],
)  # fmt: skip
def test_display_url_masks_every_password(url, shown):
    assert display_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://h/db?options=-c%20password%3D{SECRET}",  # inside another parameter
        f"postgresql://u:{SECRET}@h:notaport/db",  # the parser refuses it: masked, not echoed
        f"postgresql://u:{SECRET}@h/db?password={SECRET}%21",
    ],
)
def test_display_url_never_shows_the_secret(url):
    assert SECRET not in display_url(url)


def test_driver_messages_are_scrubbed():
    url = f"postgresql+psycopg://u:{SECRET}@h/db?sslpassword=Other%2BSecret"
    text = (
        f"bad conninfo: user=u password='{SECRET}' sslpassword=Other+Secret host=h; "
        f"echoed {url} and {SECRET} alone"
    )
    cleaned = scrub(text, url)
    assert (
        SECRET not in cleaned and "Other+Secret" not in cleaned and "Other%2BSecret" not in cleaned
    )
    assert "user=u" in cleaned and "host=h" in cleaned

    class DriverError(Exception):
        pass

    error = storage_error(DriverError(f'invalid dsn: password="{SECRET}"\nsecond line'), url)
    assert SECRET not in str(error) and "\n" not in str(error)


def test_connection_error_masks_the_query_password():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://u@127.0.0.1:{port}/db?password={SECRET}"
    with pytest.raises(StorageError) as info:
        Storage(url, create=False)
    assert SECRET not in str(info.value) and "password=***" in str(info.value)


def test_invalid_url_masks_the_password():
    with pytest.raises(StorageError) as info:
        Storage(f"postgresql://u:{SECRET}@h:port/db", create=False)
    assert "invalid storage URL" in str(info.value) and SECRET not in str(info.value)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1", "2.5", "99999", "%20"])
def test_connect_timeout_that_would_lie_is_refused_before_connecting(value):
    with socket.socket() as listener:  # would hang a connection attempt: none is made
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        url = (
            f"postgresql+psycopg://u@127.0.0.1:{port}/db?connect_timeout={value}&password={SECRET}"
        )
        start = time.monotonic()
        with pytest.raises(StorageError) as info:
            Storage(url, create=False)
        assert time.monotonic() - start < 1.5
    message = str(info.value)
    assert "connect_timeout=" in message and "from 2 to 3600" in message
    assert SECRET not in message and "\n" not in message


def test_the_timeout_message_tells_the_timeout_in_force():
    assert connect_timeout_s("postgresql://h/d") == 10
    assert connect_timeout_s("postgresql://h/d?connect_timeout=3") == 3
    assert connect_timeout_s("sqlite:///x.db") is None

    class Timeout(Exception):
        pass

    error = storage_error(
        Timeout("connection timeout expired"), "postgresql://h/d?connect_timeout=3"
    )
    assert "connect timeout, 3 s" in str(error)


@pytest.mark.parametrize(
    "text", ["postgresql://h/db?x=" + "a" * 1_000_000, "postgresql://u:" + "a" * 1_000_000]
)
def test_a_huge_url_is_masked_in_linear_time(text):
    start = time.monotonic()
    display_url(text)
    scrub(text, text)
    assert time.monotonic() - start < 2  # was minutes: a scan from every character
