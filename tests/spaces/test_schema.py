from __future__ import annotations

import copy

import pytest

from cnnpc.errors import SearchSpaceError
from cnnpc.spaces import load_space, load_space_file, parse_space

VALID = {
    "model": "m",
    "candidates": [
        {"name": "a", "channels": 8},
        {"name": "b", "channels": 8, "prunable": True, "layers": ["conv_b"]},
        {"name": "c", "channels": 16, "prunable": False},
    ],
    "keep_grid": [0.25, 0.5, 1.0],
    "groups": [["a", "b"]],
}


def test_shipped_spaces_match_cnnpc_partitions():
    mobilenet = load_space("mobilenet")
    assert [c.channels for c in mobilenet.candidates] == [32, 16, 24, 32, 64, 96, 160]
    resnet = load_space("resnet")
    assert [c.channels for c in resnet.candidates] == [64, 64, 128, 256]
    assert resnet.group_of("block6") == ("block1", "block6")
    assert mobilenet.keep_grid[-1] == 1.0


def test_valid_document_parses():
    space = parse_space(VALID, "x.yaml")
    assert space.names == ("a", "b", "c")
    assert space.candidates[1].layers == ("conv_b",)
    assert [c.name for c in space.prunable()] == ["a", "b"]
    assert space.group_of("c") == ("c",)
    assert space.index("c") == 2


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("candidates"), "candidates: must be a non-empty list"),
        (lambda d: d["candidates"][0].update(channels=0), "candidates[0].channels"),
        (lambda d: d["candidates"][0].update(channels=True), "candidates[0].channels"),
        (lambda d: d["candidates"][1].update(name="a"), "duplicate name 'a'"),
        (lambda d: d["candidates"][2].update(extra=1), "unknown key(s) extra"),
        (lambda d: d.update(keep_grid=[0.5, 0.25, 1.0]), "strictly increasing"),
        (lambda d: d.update(keep_grid=[0.25, 0.5]), "must end with 1.0"),
        (lambda d: d.update(keep_grid=[0.0, 1.0]), "keep_grid[0]"),
        (lambda d: d.update(keep_grid=[float("nan"), 1.0]), "keep_grid[0]"),
        (lambda d: d.update(groups=[["a", "zz"]]), "unknown candidate 'zz'"),
        (lambda d: d.update(groups=[["a", "c"]]), "not prunable"),
        (lambda d: d.update(groups=[["a", "b"], ["b", "a"]]), "more than one group"),
        (lambda d: d.update(groups=[["a"]]), "at least two"),
        (lambda d: d.update(model=""), "model: must be a non-empty string"),
        (lambda d: d.update(bogus=1), "unknown key(s) bogus"),
    ],
)
def test_invalid_documents_name_the_key(mutate, message):
    doc = copy.deepcopy(VALID)
    mutate(doc)
    with pytest.raises(SearchSpaceError) as err:
        parse_space(doc, "x.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("x.yaml: ")
    assert "\n" not in str(err.value)


def test_group_widths_must_match():
    doc = copy.deepcopy(VALID)
    doc["candidates"][1]["channels"] = 4
    with pytest.raises(SearchSpaceError, match="same channel count"):
        parse_space(doc, "x.yaml")


def test_unknown_model_lists_valid_ones():
    with pytest.raises(SearchSpaceError, match=r"unknown model 'vgg' \(valid: mobilenet, resnet\)"):
        load_space("vgg")


def test_unknown_candidate_lists_valid_ones():
    with pytest.raises(SearchSpaceError, match="valid: block1, block6, block11, block16"):
        load_space("resnet").index("conv9")


def test_file_loader_reports_bad_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model: m\ncandidates: [\n")
    with pytest.raises(SearchSpaceError, match="not valid YAML"):
        load_space_file(path)
    with pytest.raises(SearchSpaceError, match="cannot read"):
        load_space_file(tmp_path / "missing.yaml")


def test_one_rule_for_kept_channels_half_up_and_per_part():
    from cnnpc.spaces import Candidate, kept_count

    assert kept_count(0.125, 20) == 3  # 2.5 rounds up (the planner used to say 2)
    assert kept_count(0.01, 20) == 1 and kept_count(1.0, 20) == 20
    concat = Candidate(name="cat", channels=30, parts=(10, 20))
    assert concat.kept(0.25) == kept_count(0.25, 10) + kept_count(0.25, 20) == 3 + 5
