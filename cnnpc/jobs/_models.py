"""`cnnpc models add | show | remove` as library calls: the registry of models cnnpc plans for.

`show` and `remove` never import TensorFlow; `add` builds or loads the model to read its graph.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnpc.jobs._done import Done
from cnnpc.jobs._options import TRUST_CODE_HELP, Exclusive, bounded_int, option
from cnnpc.records import MAX_CLASSES, MAX_IMAGE_SIZE

SOURCE = Exclusive("source", required=True)
"""A model comes from a file or from a tf_keras.applications architecture."""


@dataclass(frozen=True, kw_only=True)
class ModelName:
    """What `cnnpc models show|remove` is asked."""

    name: str = option()


@dataclass(frozen=True, kw_only=True)
class ModelAdd:
    """What `cnnpc models add` is asked."""

    name: str = option(help="the name commands will use (--model NAME)")
    keras: str | None = option(
        "--keras",
        default=None,
        metavar="FILE",
        exclusive=SOURCE,
        help=".keras / .h5 file or SavedModel folder",
    )
    app: str | None = option(
        "--app",
        default=None,
        metavar="APP",
        exclusive=SOURCE,
        help="tf_keras.applications architecture, random weights (MobileNet, MobileNetV2, "
        "ResNet50, VGG16, DenseNet121, EfficientNetB0, ...)",
    )
    input_size: int | None = option(
        "--input-size",
        default=None,
        type=bounded_int(8, MAX_IMAGE_SIZE, "--input-size"),
        metavar="PX",
        help="input size tensors are priced at (default: the file's, else 224)",
    )
    train_size: int | None = option(
        "--train-size",
        default=None,
        type=bounded_int(8, MAX_IMAGE_SIZE, "--train-size"),
        metavar="PX",
        help="input size for training on the embedded digits data (default: the file's, else 32)",
    )
    classes: int | None = option(
        "--classes",
        default=None,
        type=bounded_int(2, MAX_CLASSES, "--classes"),
        metavar="N",
        help="classes of the classifier (default: the file's, else 1000)",
    )
    candidates: str | None = option(
        "--candidates",
        default=None,
        metavar="LAYER,...",
        help="restrict the split candidates to these layers (default: every single-tensor cut)",
    )
    trust_code: bool = option("--trust-code", action="store_true", help=TRUST_CODE_HELP)


def add_registered(job: ModelAdd) -> Done:
    """Analyse and register the model (a name clash answers before TensorFlow loads)."""
    from cnnpc.catalog import check_new_name
    from cnnpc.registry import add_model, added_text, describe, parse_candidates

    check_new_name(job.name)
    added = add_model(
        job.name,
        keras_file=job.keras,
        app=job.app,
        input_size=job.input_size,
        classes=job.classes,
        candidates=parse_candidates(job.candidates),
        train_size=job.train_size,
        trust_code=job.trust_code,
    )
    report = describe(job.name)
    seconds = added.analysis.seconds
    document = {**report.as_dict(), "analysis_seconds": round(seconds, 3)}
    return Done(document, added_text(report, seconds))
