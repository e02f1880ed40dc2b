"""The shipped layers.csv files are exactly what the Keras models give (builds 224x224 models)."""

from __future__ import annotations

import pytest

from cnnpc._resources import data_root
from cnnpc.profiles import load_layers, load_profile

pytestmark = pytest.mark.slow  # builds two untrained Keras models at 224x224 (a few seconds)


@pytest.mark.parametrize("model", ["resnet", "mobilenet"])
def test_shipped_file_equals_a_fresh_extraction(model):
    from cnnpc.layergraph.generate import model_layers, to_csv
    from cnnpc.models import DEPLOY_SIZE, build_model, count_flops

    rows = model_layers(model)
    shipped = load_profile(model, "MI8")
    assert rows == load_layers(shipped)
    assert (data_root("model_profiles") / model / "layers.csv").read_text() == to_csv(rows)
    keras_model = build_model(model, 1000, input_size=DEPLOY_SIZE)
    assert sum(r.flops for r in rows) == count_flops(keras_model)
    assert [r.name for r in rows] == [layer.name for layer in keras_model.layers]
    assert rows[0].elements == shipped.input.elements


def test_check_mode_reports_a_stale_file(tmp_path, monkeypatch, capsys):
    from cnnpc.layergraph import generate

    assert generate.main(["resnet", "--check"]) == 0
    monkeypatch.setattr(generate, "to_csv", lambda rows: "stale\n")
    assert generate.main(["resnet", "--check"]) == 1
    assert "stale layers.csv: resnet" in capsys.readouterr().err
