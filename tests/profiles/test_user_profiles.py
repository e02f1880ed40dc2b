"""User profile folders ($CNNPC_PROFILES, ./results/profiles) are found after the shipped ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnpc._resources import data_root
from cnnpc.errors import ProfileError
from cnnpc.profiles import (
    PROFILES_ENV,
    default_user_root,
    list_profiles,
    load_profile,
    user_profile_roots,
    user_profiles,
)


def _user_copy(root: Path, device: str, scale: float = 2.0) -> Path:
    """A user folder for mobilenet with one device: the MI8 times times `scale`."""
    folder = root / "mobilenet"
    folder.mkdir(parents=True)
    shipped = data_root("model_profiles") / "mobilenet"
    for name in ("meta.yaml", "tensors.csv"):
        (folder / name).write_bytes(shipped.joinpath(name).read_bytes())
    lines = shipped.joinpath("MI8.csv").read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        seg, name, *times = line.split(",")
        out.append(",".join([seg, name, *(f"{float(t) * scale:.6g}" for t in times)]))
    (folder / f"{device}.csv").write_text("\n".join(out) + "\n")
    (folder / f"{device}_measurements.csv").write_text("not,a,device\n")
    return folder


def test_env_folder_is_searched(tmp_path, monkeypatch):
    _user_copy(tmp_path / "profiles", "lab")
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path / "profiles"))
    profile = load_profile("mobilenet", "lab")
    assert profile.device == "lab"
    mi8 = load_profile("mobilenet", "MI8")
    assert profile.tier_total("end") == pytest.approx(2 * mi8.tier_total("end"))
    assert user_profiles() == {"mobilenet": ["lab"]}
    # The shipped listing is unchanged; measurement files are not devices.
    assert list_profiles() == {"mobilenet": ["MI8", "MI8SE"], "resnet": ["MI8", "MI8SE"]}
    assert default_user_root() == tmp_path / "profiles"


def test_working_directory_results_profiles(tmp_path, monkeypatch):
    monkeypatch.delenv(PROFILES_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    _user_copy(tmp_path / "results" / "profiles", "bench")
    assert user_profile_roots() == [tmp_path / "results" / "profiles"]
    assert load_profile("mobilenet", "BENCH").device == "bench"


def test_shipped_devices_win_and_errors_list_user_devices(tmp_path, monkeypatch):
    _user_copy(tmp_path, "MI8", scale=3.0)
    _user_copy(tmp_path / "more", "lab")
    monkeypatch.setenv(PROFILES_ENV, f"{tmp_path}:{tmp_path / 'more'}")
    assert load_profile("mobilenet", "MI8").source.startswith("CNNPC")
    assert load_profile("mobilenet", "lab").device == "lab"
    with pytest.raises(ProfileError, match=r"unknown device 'S20' .*valid: MI8, MI8SE, lab\)$"):
        load_profile("mobilenet", "S20")


def test_bad_user_profile_names_its_file(tmp_path, monkeypatch):
    folder = _user_copy(tmp_path, "lab")
    lines = (folder / "lab.csv").read_text().splitlines()
    lines[1] = "0,conv1,nan,1,1"
    (folder / "lab.csv").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path))
    with pytest.raises(ProfileError, match=rf"^{folder}/lab.csv: row 0, column end_ms"):
        load_profile("mobilenet", "lab")
