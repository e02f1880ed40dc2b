"""Read `model_profiles/<model>/params.csv`: the parameters of each profile segment.

Written once from the Keras model (``python -m cnnpc.upload.generate``, or by ``cnnpc model
add``) so that `cnnpc upload-plan` and the part sizes of `cnnpc plan` never import TensorFlow.
Counts are for the ImageNet head (1,000 classes) the profiles were measured with and do not
depend on the input size.
"""

from __future__ import annotations

from cnnpc._resources import model_file
from cnnpc.errors import ProfileError
from cnnpc.profiles._loader import read_csv_rows
from cnnpc.profiles._schema import Profile

PARAMS_FILE = "params.csv"
PARAMS_COLUMNS = ("segment", "name", "params")


def load_params(profile: Profile) -> tuple[int, ...]:
    """Parameter count of every segment of `profile`'s model, checked against its segments."""
    found = model_file(profile.model, PARAMS_FILE)
    if found is None:
        raise ProfileError(f"unknown model {profile.model!r}")
    resource, label = found
    if not resource.is_file():
        raise ProfileError(f"{label}: file not found (no parameter counts for {profile.model})")
    rows = read_csv_rows(resource, label, PARAMS_COLUMNS)
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
