from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import pytest

from cnnpc._resources import data_root
from cnnpc.errors import ProfileError
from cnnpc.profiles import list_profiles, load_profile, load_profile_dir
from cnnpc.spaces import load_space


def _read(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("model", ["mobilenet", "resnet"])
@pytest.mark.parametrize("device", ["MI8", "MI8SE"])
def test_shipped_times_equal_cnnpc_tables(model, device, reference_dir):
    profile = load_profile(model, device)
    ref = _read(reference_dir / f"{model}_T_R_{device}.csv")
    assert profile.n_segments == len(ref)
    for seg, row in zip(profile.segments, ref, strict=True):
        assert seg.end_ms == float(row["end_ms"])
        assert seg.edge_ms == float(row["edge_ms"])
        assert seg.cloud_ms == float(row["cloud_ms"])
    partitions = _read(reference_dir / f"{model}_partitions.csv")
    assert [t.channels for t in profile.candidates] == [int(r["channels"]) for r in partitions]
    assert profile.bytes_per_element == 1.0


def test_listing_and_case_insensitive_device():
    assert list_profiles() == {"mobilenet": ["MI8", "MI8SE"], "resnet": ["MI8", "MI8SE"]}
    assert load_profile("mobilenet", "mi8se").device == "MI8SE"
    assert math.isclose(load_profile("mobilenet", "MI8").tier_total("end"), 78.4286, rel_tol=1e-9)


def test_unknown_device_and_model():
    with pytest.raises(ProfileError, match=r"unknown device 'MI9' .*valid: MI8, MI8SE"):
        load_profile("mobilenet", "MI9")
    with pytest.raises(Exception, match=r"unknown model 'vgg'"):
        load_profile("vgg", "MI8")


@pytest.fixture
def profile_copy(tmp_path) -> Path:
    folder = tmp_path / "mobilenet"
    shutil.copytree(str(data_root("model_profiles") / "mobilenet"), folder)
    return folder


def _edit(path: Path, row: int, column: str, value: str) -> None:
    rows = _read(path)
    rows[row][column] = value
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "fast", ""])
def test_bad_time_names_file_row_and_column(profile_copy, value):
    _edit(profile_copy / "MI8.csv", 3, "edge_ms", value)
    with pytest.raises(ProfileError) as err:
        load_profile_dir(profile_copy, "MI8", load_space("mobilenet"), label="p")
    assert str(err.value).startswith(
        "p/MI8.csv: row 3, column edge_ms: must be a finite number >= 0"
    )


def test_missing_column(profile_copy):
    path = profile_copy / "MI8.csv"
    text = path.read_text().replace("cloud_ms", "cloud")
    path.write_text(text)
    with pytest.raises(ProfileError, match=r"header: missing column\(s\) cloud_ms"):
        load_profile_dir(profile_copy, "MI8", load_space("mobilenet"), label="p")


def test_segment_count_must_match_space(profile_copy):
    path = profile_copy / "MI8.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(ProfileError, match="7 segments, but the search space has 7 candidates"):
        load_profile_dir(profile_copy, "MI8", load_space("mobilenet"), label="p")


def test_tensor_elements_must_be_consistent(profile_copy):
    _edit(profile_copy / "tensors.csv", 6, "elements", "11816")
    with pytest.raises(ProfileError, match=r"tensors.csv: row 6, column elements: 11816 != "):
        load_profile_dir(profile_copy, "MI8", load_space("mobilenet"), label="p")


def test_tensor_channels_must_match_space(profile_copy):
    _edit(profile_copy / "tensors.csv", 2, "channels", "8")
    _edit(profile_copy / "tensors.csv", 2, "elements", str(112 * 112 * 8))
    with pytest.raises(ProfileError, match="row 2, column channels: 8 but the search space"):
        load_profile_dir(profile_copy, "MI8", load_space("mobilenet"), label="p")


def test_ragged_row_and_bad_meta(profile_copy):
    path = profile_copy / "MI8.csv"
    path.write_text(path.read_text() + "8,extra,1,2\n")
    with pytest.raises(ProfileError, match="row 8: wrong number of fields"):
        load_profile_dir(profile_copy, "MI8", load_space("mobilenet"), label="p")
    (profile_copy / "meta.yaml").write_text("bytes_per_element: 0\nsource_mbit_bits: 1\n")
    with pytest.raises(ProfileError, match="bytes_per_element: must be a positive number"):
        load_profile_dir(profile_copy, "MI8SE", load_space("mobilenet"), label="p")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda lines: [lines[0], lines[1] + ",5", *lines[2:]], "row 0: wrong number of fields"),
        (lambda lines: [lines[0], ",".join(lines[1].split(",")[:-1]), *lines[2:]], "row 0: wrong"),
        (
            lambda lines: [lines[0].replace("cloud_ms", "edge_ms"), *lines[1:]],
            "header: column(s) edge_ms given twice",
        ),
    ],
)
def test_extra_fields_and_repeated_columns_are_refused(profile_copy, change, message):
    """A dict row keeps the last of two same-named columns and drops nothing: refuse both."""
    path = profile_copy / "MI8.csv"
    path.write_text("\n".join(change(path.read_text().splitlines())) + "\n")
    with pytest.raises(ProfileError) as info:
        load_profile_dir(profile_copy, "MI8", load_space("mobilenet"), label="p")
    assert message in str(info.value) and "MI8.csv" in str(info.value)
