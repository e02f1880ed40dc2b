"""The end device's power figures: parsed, checked, stored beside a profile and found again."""

from __future__ import annotations

import math

import pytest

from cnnpc.errors import InputError, ProfileError
from cnnpc.profiles import (
    DEFAULT_RADIOS,
    PROFILES_ENV,
    PowerFigures,
    RadioPower,
    load_profile,
    parse_power,
    parse_radio,
    read_power,
    write_power,
)


def test_parse_power_and_radio():
    assert parse_power("end=compute:2.5,idle:0.3") == PowerFigures(2.5, 0.3)
    assert parse_power("end=idle:0.3") == PowerFigures(idle_w=0.3)
    assert parse_radio("lte") == ("lte", DEFAULT_RADIOS["lte"])
    assert parse_radio("5g=tx:4.5,rx:2.5") == ("5g", RadioPower(4.5, 2.5))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("end=compute:-1,idle:1", r"compute power must be in \(0, 1000\] W, got -1.0"),
        ("end=compute:0", "compute power must be in"),
        ("end=compute:nan", "compute power must be in"),
        ("end=compute:inf", "compute power must be in"),
        ("end=compute:2e3", "compute power must be in"),
        ("end=compute:x", "'x' is not a number"),
        ("end=compute:1,compute:2", "expected compute:W,idle:W"),
        ("end=tx:1", "expected compute:W,idle:W"),
        ("edge=compute:1", "--power takes end=compute:W,idle:W"),
        ("compute:1", "--power takes end=compute:W,idle:W"),
    ],
)
def test_bad_power_is_one_line(text, message):
    with pytest.raises(InputError, match=message) as info:
        parse_power(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("wimax", "unknown radio 'wimax' \\(valid: wifi, lte, 5g\\)"),
        ("5g", "no shipped figures for 5g: give --radio 5g=tx:W,rx:W"),
        ("lte=tx:1", "needs both tx:W and rx:W"),
        ("lte=tx:1,rx:-2", "rx power must be in"),
        ("wifi=tx:0,rx:1", "tx power must be in"),
        ("wifi=tx:1,rx:nan", "rx power must be in"),
    ],
)
def test_bad_radio_is_one_line(text, message):
    with pytest.raises(InputError, match=message):
        parse_radio(text)


def test_missing_figures_are_named():
    assert PowerFigures().missing() == ["compute W", "idle W", "a radio's tx/rx W"]
    lte = PowerFigures(1.0, 0.1, (("lte", RadioPower(3.0, 2.0)),))
    assert lte.missing() == [] and lte.default_radio == "lte"
    assert lte.missing("wifi") == ["wifi's tx/rx W"]


def test_merged_keeps_what_is_not_given_and_puts_new_radios_first():
    old = PowerFigures(1.0, 0.1, (("wifi", RadioPower(1.0, 1.0)), ("lte", RadioPower(3.0, 2.0))))
    new = old.merged(PowerFigures(idle_w=0.2, radios=(("lte", RadioPower(4.0, 2.5)),)))
    assert new == PowerFigures(
        1.0, 0.2, (("lte", RadioPower(4.0, 2.5)), ("wifi", RadioPower(1.0, 1.0)))
    )


def test_file_round_trip(tmp_path):
    figures = PowerFigures(2.5, 0.3, (("wifi", RadioPower(1.8, 1.9)), ("5g", RadioPower(4.0, 2.0))))
    path = write_power(tmp_path, "phone", figures)
    assert path.name == "phone.power.yaml"
    assert read_power(path, str(path)) == figures
    assert read_power(tmp_path / "none.power.yaml", "x") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "must be a mapping"),
        ("compute_w: -1", "compute power must be in"),
        ("compute_w: .nan", "compute power must be in"),
        ("watts: 3", "unknown key\\(s\\) watts"),
        ("radios: [{radio: wimax, tx_w: 1, rx_w: 1}]", "unknown radio 'wimax'"),
        ("radios: [{radio: lte, tx_w: 1}]", "rx power must be a number of watts, got None"),
        ("radios: [{radio: lte, tx_w: 1, rx_w: 1}, {radio: lte, tx_w: 2, rx_w: 1}]", "twice"),
        ("radios: {lte: 1}", "radios must be a list"),
        ("a: [", "not a readable YAML file"),
    ],
)
def test_bad_power_file_names_it(tmp_path, text, message):
    path = tmp_path / "phone.power.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=message) as info:
        read_power(path, str(path))
    assert str(path) in str(info.value)


def test_shipped_profiles_have_no_figures_until_a_user_root_gives_some(tmp_path, monkeypatch):
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path))
    assert load_profile("mobilenet", "MI8").power is None
    figures = PowerFigures(2.0, 0.25, (("lte", DEFAULT_RADIOS["lte"]),))
    write_power(tmp_path / "mobilenet", "MI8", figures)
    assert load_profile("mobilenet", "MI8").power == figures
    assert load_profile("mobilenet", "MI8SE").power is None
    assert load_profile("resnet", "MI8").power is None


def test_shipped_defaults_are_positive_and_approximate():
    for radio in DEFAULT_RADIOS.values():
        for watts in (radio.tx_w, radio.rx_w):
            assert 0 < watts < 10 and math.isclose(watts, round(watts, 1))
