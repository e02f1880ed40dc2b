"""The parsers behind every numeric option: one-line errors, bounds inclusive unless open."""

from __future__ import annotations

import pytest

from cnnpc.errors import InputError
from cnnpc.records import parse_float, parse_int, parse_number


def test_parse_number():
    assert parse_number("1e-3") == 0.001
    with pytest.raises(InputError, match="'x' is not a number"):
        parse_number("x")


@pytest.mark.parametrize(
    ("text", "ok"), [("0", False), ("0.5", True), ("1", True), ("nan", False), ("inf", False)]
)
def test_parse_float_open_low(text, ok):
    if ok:
        assert parse_float(text, 0.0, 1.0, open_low=True) == float(text)
    else:
        with pytest.raises(InputError, match=r"must be in \(0, 1\]"):
            parse_float(text, 0.0, 1.0, open_low=True)


def test_parse_float_open_high():
    with pytest.raises(InputError, match=r"must be in \[0, 1\)"):
        parse_float("1", 0.0, 1.0, open_high=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [("1.5", "is not a whole number"), ("-1", "must be >= 0"), ("65536", "must be <= 65535")],
)
def test_parse_int_errors(text, message):
    with pytest.raises(InputError, match=message):
        parse_int(text, 0, 65535)
    assert parse_int("65535", 0, 65535) == 65535
