"""Build added models: tf_keras.applications architectures and the user's saved Keras models.

Nothing is downloaded: applications are built with ``weights=None``. For training from scratch
every BatchNormalization gets momentum 0.9 (the applications' 0.99 / 0.999 leave the moving
statistics unusable for many epochs on a small data set), and a saved model is rebuilt from its
config at another input size and class count when asked.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cnnpc._keras import is_keras_layer, keras, keras_code, tf
from cnnpc.errors import InputError, OwnCodeNote, first_line
from cnnpc.modelfile import ModelFile, code_layers, read_model_file, refuse_code

APPS: dict[str, str] = {
    "mobilenet": "MobileNet",
    "mobilenetv2": "MobileNetV2",
    "mobilenetv3small": "MobileNetV3Small",
    "mobilenetv3large": "MobileNetV3Large",
    "resnet50": "ResNet50",
    "resnet101": "ResNet101",
    "resnet50v2": "ResNet50V2",
    "vgg16": "VGG16",
    "vgg19": "VGG19",
    "densenet121": "DenseNet121",
    "densenet169": "DenseNet169",
    "efficientnetb0": "EfficientNetB0",
    "efficientnetb1": "EfficientNetB1",
    "xception": "Xception",
    "inceptionv3": "InceptionV3",
    "nasnetmobile": "NASNetMobile",
}
"""`--app` names (case-insensitive) and the tf_keras.applications function they call."""


def app_function(app: str) -> str:
    """The applications function for `app`; an unknown name lists the valid ones."""
    key = app.lower().replace("_", "").replace("-", "")
    if key not in APPS:
        raise InputError(f"unknown --app {app!r} (valid: {', '.join(APPS.values())})")
    return APPS[key]


MAX_PARAMS = 250_000_000
"""The most parameters a model cnnpc builds may have: 1 GB of float32 weights, several times
that to train (VGG19 at 224x224 has 144 million); more exhausts memory or crashes TensorFlow."""


def check_size(build: Callable[[], Any], what: str) -> None:
    """Refuse a model with more than MAX_PARAMS parameters before any weight is allocated: it
    is built in a throwaway graph, where variables have shapes but no memory."""
    try:
        with tf.Graph().as_default():
            params = int(build().count_params())
    except (ValueError, TypeError) as exc:
        raise InputError(f"{what}: {first_line(exc)}") from None
    finally:
        keras.backend.clear_session()
    if params > MAX_PARAMS:
        raise InputError(
            f"{what} has {params:,} parameters, over the {MAX_PARAMS:,} cnnpc builds (lower "
            "--input-size or --classes)"
        )


def build_app(app: str, size: int, classes: int, bn_momentum: float | None = 0.9) -> Any:
    """A randomly initialised application at `size` x `size` with `classes` outputs."""
    function = getattr(keras.applications, app_function(app))
    what = f"{app} at {size}x{size} with {classes:,} classes"

    def build() -> Any:
        return function(weights=None, input_shape=(size, size, 3), classes=classes)

    check_size(build, what)
    try:
        model = build()
    except ValueError as exc:
        raise InputError(f"{what}: {first_line(exc)}") from None
    if bn_momentum is None:
        return model
    return from_config(model.get_config(), size, classes, bn_momentum)


def check_model_file(path: str | Path, option: str, trust_code: bool) -> ModelFile:
    """Read a saved model's configuration and refuse layers that run code (see cnnpc.modelfile),
    before anything in the file is deserialized; `trust_code` skips the refusal."""
    file = read_model_file(path, option)
    if not trust_code:
        refuse_code(file, is_keras_layer, option)
    return file


def load_checked(file: ModelFile, option: str, trust_code: bool) -> Any:
    """Load a model file that check_model_file passed (Keras' safe mode unless trusted)."""
    label = f"{option} {file.path}"
    if trust_code and code_layers(file.config, is_keras_layer):
        warnings.warn(
            f"{label} was loaded with --trust-code: its layers run their own code",
            OwnCodeNote,
            stacklevel=2,
        )
    try:
        with keras_code(allowed=trust_code):
            return keras.models.load_model(file.path, compile=False, safe_mode=not trust_code)
    except (ValueError, TypeError) as exc:
        text = first_line(exc)
        if "Unknown layer" in text or "custom" in text.lower():
            raise InputError(
                f"{label}: a custom layer cannot be loaded ({text}); cnnpc needs models built "
                "from Keras layers"
            ) from None
        raise InputError(f"{label}: not a Keras model: {text}") from None
    except (OSError, KeyError, IndexError, AttributeError, tf.errors.OpError) as exc:
        raise InputError(f"{label}: not a Keras model: {first_line(exc)}") from None


def load_saved(path: str | Path, trust_code: bool = False) -> Any:
    """A saved Functional or Sequential model; anything else is a one-line error."""
    path = Path(path)
    file = check_model_file(path, "--keras", trust_code)
    if file.config is None:
        raise InputError(f"--keras {path}: holds weights only, no model (save the whole model)")
    model = load_checked(file, "--keras", trust_code)
    if not isinstance(model, keras.Model) or not hasattr(model, "get_config"):
        raise InputError(f"--keras {path}: not a Keras model")
    config = model.get_config() if _is_graph(model) else {}
    if "layers" not in config:
        raise InputError(
            f"--keras {path}: a subclassed model has no graph to split: save it as a Functional "
            "or Sequential model"
        )
    return _as_functional(model)


def _is_graph(model: Any) -> bool:
    return isinstance(model, keras.Sequential) or bool(getattr(model, "_is_graph_network", False))


def _as_functional(model: Any) -> Any:
    """A Sequential model as the equivalent functional one (same layers and weights)."""
    if not isinstance(model, keras.Sequential):
        return model
    inputs = keras.Input(batch_shape=model.input_shape, name="input")
    x = inputs
    for layer in model.layers:
        x = layer(x)
    return keras.Model(inputs, x, name=model.name)


def reconfigure(
    model: Any,
    size: int,
    classes: int,
    bn_momentum: float | None = 0.9,
    trust_code: bool = False,
) -> Any:
    """The same architecture (fresh weights) at `size` x `size` input with `classes` outputs,
    refused first if it would be too large to build (see check_size)."""
    config = model.get_config()
    check_size(
        lambda: from_config(config, size, classes, bn_momentum, trust_code),
        f"the model at {size}x{size} with {classes:,} classes",
    )
    return from_config(config, size, classes, bn_momentum, trust_code)


def load_architecture(path: str | Path) -> dict[str, Any]:
    """The functional config saved by `models add` (layer names exactly as registered)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        config = doc["config"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a saved architecture ({first_line(exc)})") from None
    if not isinstance(config, dict) or "layers" not in config:
        raise InputError(f"{path}: not a functional architecture")
    return config


def from_config(
    config: dict[str, Any],
    size: int,
    classes: int,
    bn_momentum: float | None = 0.9,
    trust_code: bool = False,
) -> Any:
    """Build a functional config at `size` x `size` with `classes` outputs (fresh weights).

    Building from the config keeps every layer's name, so a model rebuilt later has exactly the
    registered layers (applications name some layers from a global counter).
    """
    config = copy.deepcopy(config)
    for layer in config["layers"]:
        cfg = layer["config"]
        if layer["class_name"] == "InputLayer":
            shape = list(cfg.get("batch_input_shape") or cfg.get("batch_shape"))
            channels = shape[-1]
            cfg["batch_input_shape"] = [None, size, size, channels]
            cfg.pop("batch_shape", None)
        if layer["class_name"] == "BatchNormalization" and bn_momentum is not None:
            cfg["momentum"] = bn_momentum
    _set_classes(config, classes)

    try:
        with keras_code(allowed=trust_code):
            return keras.Model.from_config(config)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"the model cannot be rebuilt at {size}x{size} with {classes} classes: "
            f"{first_line(exc)}"
        ) from None


def _set_classes(config: dict[str, Any], classes: int) -> None:
    """Give the classifier `classes` units: the Dense or 1x1 Conv2D that ends the graph."""
    by_name = {str(layer["name"]): layer for layer in config["layers"]}
    name = str(config["output_layers"][0][0])
    while True:
        layer = by_name[name]
        cls = layer["class_name"]
        if cls == "Dense":
            layer["config"]["units"] = classes
            return
        if cls == "Conv2D":
            layer["config"]["filters"] = classes
            return
        nodes = layer.get("inbound_nodes") or []
        if cls == "Reshape":  # MobileNet's head reshapes the 1x1 conv's classes
            target = list(layer["config"]["target_shape"])
            layer["config"]["target_shape"] = [*target[:-1], classes]
        if cls in ("Activation", "Softmax", "Reshape", "Flatten", "Dropout") and nodes:
            name = str(nodes[0][0][0])
            continue
        raise InputError("cannot find the classifier (a Dense layer) at the end of the model")
