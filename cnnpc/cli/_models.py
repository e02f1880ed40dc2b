"""`cnnpc models add | list | show | remove`: the registry of models cnnpc can plan for.

`list`, `show` and `remove` never import TensorFlow; `add` builds or loads the model to read its
graph.
"""

from __future__ import annotations

import argparse

from cnnpc.cli._common import TRUST_CODE_HELP, bounded_int, output
from cnnpc.records import MAX_CLASSES, MAX_IMAGE_SIZE


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "models",
        help="add your own Keras model, or list / show / remove registered models",
        description="A model is planned for by name. Shipped: mobilenet, resnet (CNNPC's "
        "profiles). 'add' reads any Functional or Sequential Keras model (or a "
        "tf_keras.applications architecture) and derives its split candidates, channel groups, "
        "tensors, layer graph and parameter counts into results/models/NAME/ ($CNNPC_MODELS "
        "first when set).",
    )
    actions = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="register a Keras model (file or application)")
    add.add_argument("name", help="the name commands will use (--model NAME)")
    source = add.add_mutually_exclusive_group(required=True)
    source.add_argument("--keras", metavar="FILE", help=".keras / .h5 file or SavedModel folder")
    source.add_argument(
        "--app",
        metavar="APP",
        help="tf_keras.applications architecture, random weights (MobileNet, MobileNetV2, "
        "ResNet50, VGG16, DenseNet121, EfficientNetB0, ...)",
    )
    add.add_argument(
        "--input-size",
        type=bounded_int(8, MAX_IMAGE_SIZE, "--input-size"),
        metavar="PX",
        help="input size tensors are priced at (default: the file's, else 224)",
    )
    add.add_argument(
        "--train-size",
        type=bounded_int(8, MAX_IMAGE_SIZE, "--train-size"),
        metavar="PX",
        help="input size for training on the embedded digits data (default: the file's, else 32)",
    )
    add.add_argument(
        "--classes",
        type=bounded_int(2, MAX_CLASSES, "--classes"),
        metavar="N",
        help="classes of the classifier (default: the file's, else 1000)",
    )
    add.add_argument(
        "--candidates",
        metavar="LAYER,...",
        help="restrict the split candidates to these layers (default: every single-tensor cut)",
    )
    add.add_argument("--trust-code", action="store_true", help=TRUST_CODE_HELP)
    add.add_argument("--json", action="store_true", help="print one JSON object")
    add.set_defaults(func=run_add)
    ls = actions.add_parser("list", help="registered models")
    ls.add_argument("--json", action="store_true", help="print one JSON object")
    ls.set_defaults(func=run_list)
    show = actions.add_parser("show", help="a model's candidates, prunability and ties")
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(func=run_show)
    rm = actions.add_parser("remove", help="delete an added model's folder")
    rm.add_argument("name")
    rm.set_defaults(func=run_remove)


def run_add(args: argparse.Namespace) -> int:
    from cnnpc.catalog import check_new_name
    from cnnpc.registry import add_model, added_text, describe, parse_candidates

    check_new_name(args.name)  # before TensorFlow loads: a clash answers at once
    added = add_model(
        args.name,
        keras_file=args.keras,
        app=args.app,
        input_size=args.input_size,
        classes=args.classes,
        candidates=parse_candidates(args.candidates),
        train_size=args.train_size,
        trust_code=args.trust_code,
    )
    report = describe(args.name)
    return output(
        args.json,
        {**report.as_dict(), "analysis_seconds": round(added.analysis.seconds, 3)},
        lambda: added_text(report, added.analysis.seconds),
    )


def run_list(args: argparse.Namespace) -> int:
    from cnnpc.registry import models_document, models_text

    document = models_document()
    return output(args.json, document, lambda: models_text(document))


def run_show(args: argparse.Namespace) -> int:
    from cnnpc.registry import describe, model_text

    report = describe(args.name)
    return output(args.json, report.as_dict(), lambda: model_text(report))


def run_remove(args: argparse.Namespace) -> int:
    from cnnpc.catalog import remove_model

    folder = remove_model(args.name)
    print(f"removed {args.name} ({folder})")
    return 0
