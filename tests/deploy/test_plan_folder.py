"""Plan folders are written at once and read back with one-line errors (no TensorFlow needed)."""

from __future__ import annotations

import json
import os

import pytest

from cnnpc._files import WriteError
from cnnpc.deploy import Layout, check_plan_target, is_plan_folder, write_plan_folder
from cnnpc.records import PLAN_FILE, PlanDocument, PlanError, load_plan
from cnnpc.storage import Tiers


def test_layouts_cut_where_tiers_change():
    assert Layout(2, 5, 8).cuts() == [2, 5]
    assert Layout(3, 3, 8).cuts() == [3] and list(Layout(3, 3, 8).ranges()) == ["end", "cloud"]
    assert Layout(3, 3, 8).links() == [("end", "edge", 3), ("edge", "cloud", 3)]  # a relay
    assert Layout(0, 8, 8).cuts() == [] and Layout(0, 8, 8).links() == [("end", "edge", 0)]
    assert Layout(8, 8, 8).links() == [] and list(Layout(8, 8, 8).ranges()) == ["end"]
    assert Layout.of_tiers(Tiers(("a",), (), ("b", "c")), 3) == Layout(1, 1, 3)


def test_write_is_atomic_and_refuses_to_overwrite(three_tier, tmp_path):
    raw = PlanDocument.parse(json.loads((three_tier.folder / PLAN_FILE).read_text()), PLAN_FILE)
    files = {p.file: three_tier.part_path(p.tier).read_bytes() for p in three_tier.parts.values()}
    out = write_plan_folder(tmp_path / "p", raw, files)
    assert load_plan(out).links == three_tier.links
    with pytest.raises(WriteError, match="already exists"):
        write_plan_folder(out, raw, files)
    with pytest.raises(WriteError, match="cannot write"):
        write_plan_folder(tmp_path / "q", raw, {"sub/dir.tflite": b"x"})  # fails midway
    write_plan_folder(out, raw, files, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]  # no temporary left behind


@pytest.mark.parametrize(
    "plan_json",
    [None, "{not json", '{"kind": "other", "schema_version": 1}', '{"kind": "cnnpc.deployment"}'],
)
def test_force_replaces_only_a_cnnpc_plan_folder(three_tier, tmp_path, plan_json):
    raw = PlanDocument.parse(json.loads((three_tier.folder / PLAN_FILE).read_text()), PLAN_FILE)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep me")
    if plan_json is not None:
        (mine / PLAN_FILE).write_text(plan_json)
    for check in (
        lambda: check_plan_target(mine, force=True),
        lambda: write_plan_folder(mine, raw, {}, force=True),
    ):
        with pytest.raises(WriteError) as info:
            check()
        assert str(info.value) == (
            f"{mine} is not a cnnpc plan folder; refusing to replace it (give another path)"
        )
    assert (mine / "thesis.tex").read_text() == "keep me" and is_plan_folder(three_tier.folder)


def test_out_is_checked_before_building(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(WriteError, match="it is a regular file, not a folder"):
        check_plan_target(tmp_path / "file", force=True)
    (tmp_path / "link").symlink_to(tmp_path)
    with pytest.raises(WriteError, match="it is a symbolic link, not a folder"):
        check_plan_target(tmp_path / "link", force=True)
    with pytest.raises(WriteError, match=r"folder .*/none does not exist"):
        check_plan_target(tmp_path / "none" / "p")
    assert check_plan_target(tmp_path / "p") == tmp_path / "p"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r.update(schema_version=2), "schema_version 1"),
        (lambda r: r["parts"][0].update(file="gone.tflite"), "missing part file"),
        (lambda r: r["parts"][1]["input"].update(dtype="int4"), "dtype"),
        (lambda r: r["parts"][1].update(span=[3, 2]), "span"),
        (lambda r: r["links"][0].update(bandwidth_mbps=0), "bandwidth_mbps"),
        (lambda r: r["links"][0].update(to="cloud"), "end->edge or edge->cloud"),
        (lambda r: r["links"][0].update(shape=[1, -2]), "shape"),
    ],
)
def test_corrupt_plans_are_one_line_errors(three_tier, tmp_path, edit, message):
    raw = json.loads((three_tier.folder / PLAN_FILE).read_text())
    edit(raw)
    for part in raw["parts"]:
        part.pop("sha256")  # empty part files: a plan without digests (older cnnpc)
    folder = tmp_path / "plan"
    folder.mkdir()
    for part in three_tier.parts.values():
        (folder / part.file).write_bytes(b"")
    (folder / PLAN_FILE).write_text(json.dumps(raw))
    with pytest.raises(PlanError, match=message):
        load_plan(folder)


def test_missing_or_unreadable_plan(tmp_path):
    with pytest.raises(PlanError, match="no such plan folder"):
        load_plan(tmp_path / "none")
    with pytest.raises(PlanError, match=r"no plan\.json"):
        load_plan(tmp_path)
    (tmp_path / PLAN_FILE).write_text("{not json")
    with pytest.raises(PlanError, match="cannot read"):
        load_plan(tmp_path)


@pytest.mark.parametrize("damage", ["flip", "truncate", "random"])
def test_damaged_part_files_are_refused_by_their_digest(three_tier, tmp_path, damage):
    """TFLite can crash on a damaged model rather than raise: the digest stops it first."""
    raw = PlanDocument.parse(json.loads((three_tier.folder / PLAN_FILE).read_text()), PLAN_FILE)
    files = {p.file: three_tier.part_path(p.tier).read_bytes() for p in three_tier.parts.values()}
    assert all(len(d or "") == 64 for d in raw.digests)
    good = files["edge.tflite"]
    files["edge.tflite"] = {
        "flip": good[:300] + bytes([good[300] ^ 0x5A]) + good[301:],
        "truncate": good[: len(good) // 2],
        "random": os.urandom(len(good)),
    }[damage]
    folder = write_plan_folder(tmp_path / "p", raw, files)
    with pytest.raises(PlanError) as info:
        load_plan(folder)
    assert str(info.value) == (
        f"{folder / 'edge.tflite'}: damaged (its sha256 is not the one "
        f"{folder / PLAN_FILE}: parts[1] records); deploy the plan again"
    )
