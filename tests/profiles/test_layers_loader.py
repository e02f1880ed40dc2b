"""layers.csv: the shipped files fit their profiles; malformed files fail with one precise line."""

from __future__ import annotations

import pytest

from cnnpc.errors import ProfileError
from cnnpc.profiles import check_layers, load_layers, load_profile, read_layers


@pytest.mark.parametrize(("model", "n_layers"), [("resnet", 69), ("mobilenet", 152)])
def test_shipped_layers_match_the_profile_tensors(model, n_layers):
    profile = load_profile(model, "MI8")
    rows = load_layers(profile)
    assert len(rows) == n_layers
    by_name = {r.name: r for r in rows}
    assert rows[0].elements == profile.input.elements == 224 * 224 * 3
    for k, (cand, tensor) in enumerate(
        zip(profile.space.candidates, profile.candidates, strict=True), start=1
    ):
        row = by_name[cand.layers[-1]]
        assert row.shape == (tensor.height, tensor.width, tensor.channels)
        assert row.segment == k - 1
    assert {r.segment for r in rows} == set(range(profile.n_segments))


def test_resnet_rows_have_real_flops_and_edges():
    rows = {r.name: r for r in load_layers(load_profile("resnet", "MI8"))}
    # 7x7x3 kernel, 64 filters, 112x112 outputs, 2 FLOPs per multiply-accumulate
    assert rows["stem_conv"].flops == 2 * 112 * 112 * 64 * 7 * 7 * 3
    assert rows["stage1_unit1_add"].inputs == ("stem_pool", "stage1_unit1_bn2")
    assert rows["stage2_unit1_shortcut"].inputs == ("stage1_unit2_out",)
    assert rows["stage1_unit1_bn1"].flops == 0


HEADER = "name,op,segment,flops,shape,elements,inputs\n"
GOOD = HEADER + "input,InputLayer,0,0,2x2x3,12,\nconv,Conv2D,0,100,2x2x4,16,input\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,op\n", "missing column(s) segment"),
        (HEADER, "no data rows"),
        (GOOD.replace("2x2x4,16", "2x2x4,17"), "row 1, column shape: '2x2x4' does not give 17"),
        (GOOD.replace(",input\n", ",nope\n"), "row 1, column inputs: 'nope' is not an earlier"),
        (GOOD.replace("0,100", "0,-1"), "row 1, column flops: must be an integer >= 0"),
        (GOOD + "conv,Conv2D,0,1,1x1x1,1,input\n", "row 2, column name: empty or repeated"),
        (GOOD.replace(",input\n", ",\n"), "only row 0 (the input) has none"),
        (GOOD.replace("conv,Conv2D,0,100", "conv,Conv2D,x,100"), "column segment"),
    ],
)
def test_malformed_layer_files(tmp_path, text, message):
    path = tmp_path / "layers.csv"
    path.write_text(text)
    with pytest.raises(ProfileError) as exc:
        read_layers(path)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_layers_that_do_not_fit_the_profile(tmp_path):
    profile = load_profile("resnet", "MI8")
    rows = list(load_layers(profile))
    stem = next(i for i, r in enumerate(rows) if r.name == "stem_pool")
    bad = rows.copy()
    bad[stem] = rows[stem].__class__(**{**rows[stem].__dict__, "elements": 5, "shape": (5,)})
    with pytest.raises(ProfileError, match="layer stem_pool: 5 elements in segment 0"):
        check_layers(tuple(bad), profile, "x")
    with pytest.raises(ProfileError, match="out of order"):
        check_layers(tuple(reversed(rows)), profile, "x")
    with pytest.raises(ProfileError, match="file not found"):
        read_layers(tmp_path / "missing.csv")
