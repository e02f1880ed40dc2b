"""`cnnpc plan --bits/--entropy`: the codec per link is a pricing choice, shown in text and JSON."""

from __future__ import annotations

import json
import sys

import pytest

from cnnpc.cli import main

PLAN = ["plan", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"]


def _json(capsys, *extra: str) -> dict:
    assert main([*PLAN, *extra, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_bits_shrink_the_links_and_are_named_per_link(capsys):
    plain = _json(capsys)
    assert "codec_choice" not in plain and "codecs" not in plain["best"]
    coded = _json(capsys, "--bits", "8,4,2")
    assert coded["codec_choice"] == {"bits": [8, 4, 2], "entropy": "none"}
    best = coded["best"]
    assert best["latency_ms"] < plain["best"]["latency_ms"]
    assert [c["link"] for c in best["codecs"]] == ["end->edge", "edge->cloud"][
        : len(best["codecs"])
    ]
    assert {c["tensor"] for c in best["codecs"]} <= set(best["splits"])
    assert {c["bits"] for c in best["codecs"]} == {2}  # accuracy is not priced: the fewest bits
    # the relayed input is never coded
    assert {c["bits"] for c in coded["baselines"]["cloud_only"]["codecs"]} == {8}


def test_bits_8_prices_as_before_but_names_the_codecs(capsys):
    plain, eight = _json(capsys), _json(capsys, "--bits", "8")
    assert eight["best"]["latency_ms"] == plain["best"]["latency_ms"]
    assert eight["best"]["breakdown"] == plain["best"]["breakdown"]
    assert {c["bits"] for c in eight["best"]["codecs"]} == {8}


def test_text_shows_the_codecs(capsys):
    assert main([*PLAN, "--bits", "8,4", "--entropy", "zstd"]) == 0
    text = capsys.readouterr().out
    assert "codecs of the best plan: end->edge block" in text and "4 bits + zstd" in text
    assert text.splitlines()[4].split()[-1] == "bits"


def test_layer_granularity_takes_bits(capsys):
    out = _json(capsys, "--granularity", "layer", "--bits", "4")
    assert {c["bits"] for c in out["best"]["crossings"]} <= {4, 8}
    assert out["codec_choice"]["bits"] == [4]


@pytest.mark.parametrize(
    ("bits", "why"),
    [("9", "bit width 9 is outside 1..8"), ("0,8", "outside 1..8"), ("4,2,4", "4 is repeated"),
     ("four", "not a bit width"), ("", "comma-separated")],
)  # fmt: skip
def test_bad_bits_are_one_line_exit_2(capsys, bits, why):
    with pytest.raises(SystemExit) as exc:
        main([*PLAN, "--bits", bits])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and why in err


def test_a_missing_coder_says_how_to_install_it(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "zstandard", None)
    assert main([*PLAN, "--entropy", "zstd"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'pip install "cnnpc[codec]"' in err
