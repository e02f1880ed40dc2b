"""`cnnpc models add | list | show | remove`: the registry of models cnnpc can plan for.

`list`, `show` and `remove` never import TensorFlow; `add` builds or loads the model to read its
graph.
"""

from __future__ import annotations

import argparse

from cnnpc.cli._common import command, output, record_from
from cnnpc.jobs import ModelAdd, ModelName


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
    help_add = "register a Keras model (file or application)"
    command(actions, "add", ModelAdd, run_add, help=help_add)
    ls = actions.add_parser("list", help="registered models")
    ls.add_argument("--json", action="store_true", help="print one JSON object")
    ls.set_defaults(func=run_list)
    help_show = "a model's candidates, prunability and ties"
    command(actions, "show", ModelName, run_show, help=help_show)
    help_rm = "delete an added model's folder"
    command(actions, "remove", ModelName, run_remove, json_help=None, help=help_rm)


def run_add(args: argparse.Namespace) -> int:
    from cnnpc.jobs import add_registered

    added = add_registered(record_from(ModelAdd, args))
    return output(args.json, added.document, lambda: added.text)


def run_list(args: argparse.Namespace) -> int:
    from cnnpc.registry import models_document, models_text

    document = models_document()
    return output(args.json, document, lambda: models_text(document))


def run_show(args: argparse.Namespace) -> int:
    from cnnpc.registry import describe, model_text

    report = describe(record_from(ModelName, args).name)
    return output(args.json, report.as_dict(), lambda: model_text(report))


def run_remove(args: argparse.Namespace) -> int:
    from cnnpc.catalog import remove_model

    name = record_from(ModelName, args).name
    folder = remove_model(name)
    print(f"removed {name} ({folder})")
    return 0
