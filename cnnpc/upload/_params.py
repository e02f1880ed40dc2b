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

from cnnpc._resources import model_file
from cnnpc.errors import ProfileError
from cnnpc.profiles import Profile, read_csv_rows

PARAMS_FILE = "params.csv"
COLUMNS = ("segment", "name", "params")
IMAGENET_CLASSES = 1000


def load_params(profile: Profile) -> tuple[int, ...]:
    """Parameter count of every segment of `profile`'s model, checked against its segments."""
    found = model_file(profile.model, PARAMS_FILE)
    if found is None:
        raise ProfileError(f"unknown model {profile.model!r}")
    resource, label = found
    if not resource.is_file():
        raise ProfileError(f"{label}: file not found (no parameter counts for {profile.model})")
    rows = read_csv_rows(resource, label, COLUMNS)
    names = [s.name for s in profile.segments]
    if len(rows) != len(names):
        raise ProfileError(f"{label}: {len(rows)} rows, but the profile has {len(names)} segments")
    counts = []
    for i, (row, name) in enumerate(zip(rows, names, strict=True)):
        if row["segment"].strip() != str(i) or row["name"].strip() != name:
            raise ProfileError(f"{label}: row {i}: expected segment {i} ({name})")
        try:
            value = int(row["params"])
        except ValueError:
            value = -1
        if value < 0:
            raise ProfileError(f"{label}: row {i}, column params: must be an integer >= 0")
        counts.append(value)
    return tuple(counts)


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
