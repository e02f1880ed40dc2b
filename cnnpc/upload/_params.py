"""Parameters per profile segment: what each part of the model weighs when uploaded to an edge.

They ship as `model_profiles/<model>/params.csv` (segment,name,params), generated once from the
Keras models (`count_segment_params`, `python -m cnnpc.upload.generate`) so that `cnnpc upload-plan`
never imports TensorFlow. Counts are for the ImageNet head (1,000 classes) the profiles were
measured with; parameters do not depend on the input size.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from cnnpc.profiles import PARAMS_COLUMNS as COLUMNS
from cnnpc.profiles import PARAMS_FILE, load_params

__all__ = ["COLUMNS", "PARAMS_FILE", "count_segment_params", "load_params", "params_csv"]
IMAGENET_CLASSES = 1000


def count_segment_params(
    model: str, num_classes: int = IMAGENET_CLASSES, input_size: int = 224
) -> list[tuple[int, str, int]]:
    """(segment, name, params) from the Keras model (imports TensorFlow).

    A layer belongs to the segment whose end boundary is the first candidate output at or after
    it in the model's (topological) layer order; the candidate's output layer is the last of its
    `layers` in the search space.
    """
    from cnnpc.models import build_model
    from cnnpc.profiles import list_profiles, load_profile

    device = list_profiles()[model][0]
    profile = load_profile(model, device)
    keras_model: Any = build_model(model, num_classes, input_size=input_size)
    order = {layer.name: i for i, layer in enumerate(keras_model.layers)}
    ends = [order[c.layers[-1]] for c in profile.space.candidates]
    counts = [0] * profile.n_segments
    for i, layer in enumerate(keras_model.layers):
        segment = sum(1 for end in ends if end < i)
        counts[segment] += int(layer.count_params())
    return [(k, s.name, counts[k]) for k, s in enumerate(profile.segments)]


def params_csv(rows: list[tuple[int, str, int]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue()
