"""The shipped params.csv files: consistent with the profiles, and with the Keras models."""

from __future__ import annotations

import pytest

from cnnpc.profiles import device_names, list_profiles, load_profile
from cnnpc.upload import load_params

# MobileNetV2 and ResNet-18 with a 1,000-class head, batch-norm statistics included
TOTALS = {"mobilenet": 3_538_984, "resnet": 11_699_112}


@pytest.mark.parametrize("model", sorted(TOTALS))
def test_params_file_matches_profile_segments(model):
    profile = load_profile(model, "MI8")
    params = load_params(profile)
    assert len(params) == profile.n_segments and sum(params) == TOTALS[model]
    assert "params" not in list_profiles()[model]


def test_params_file_is_not_a_device():
    from cnnpc._resources import data_root

    assert device_names(data_root("model_profiles") / "mobilenet") == ["MI8", "MI8SE"]


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(TOTALS))
def test_params_file_matches_the_keras_model(model):
    """Builds the model (no training) at 32x32: parameter counts do not depend on input size."""
    from cnnpc.upload import count_segment_params

    rows = count_segment_params(model, input_size=32)
    profile = load_profile(model, "MI8")
    assert [r[2] for r in rows] == list(load_params(profile))
    assert [r[1] for r in rows] == [s.name for s in profile.segments]
