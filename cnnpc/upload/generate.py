"""Regenerate model_profiles/<model>/params.csv from the Keras models (run from the repo root).

python -m cnnpc.upload.generate            # every shipped model
python -m cnnpc.upload.generate mobilenet
"""

from __future__ import annotations

import sys
from pathlib import Path

from cnnpc._files import write_text
from cnnpc.profiles import list_profiles
from cnnpc.upload import count_segment_params, params_csv


def main(models: list[str]) -> None:
    for model in models or list(list_profiles()):
        path = Path("model_profiles") / model / "params.csv"
        write_text(path, params_csv(count_segment_params(model)))
        print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
