"""Build added models: tf_keras.applications architectures and the user's saved Keras models.

Nothing is downloaded: applications are built with ``weights=None``. For training from scratch
every BatchNormalization gets momentum 0.9 (the applications' 0.99 / 0.999 leave the moving
statistics unusable for many epochs on a small data set), and a saved model is rebuilt from its
config at another input size and class count when asked.
"""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path
from typing import Any

from cnnpc.errors import InputError, first_line
from cnnpc.models._keras import keras, tf

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


def build_app(app: str, size: int, classes: int, bn_momentum: float | None = 0.9) -> Any:
    """A randomly initialised application at `size` x `size` with `classes` outputs."""
    function = getattr(keras.applications, app_function(app))
    try:
        model = function(weights=None, input_shape=(size, size, 3), classes=classes)
    except ValueError as exc:
        raise InputError(f"{app} at {size}x{size}: {first_line(exc)}") from None
    return model if bn_momentum is None else reconfigure(model, size, classes, bn_momentum)


def load_saved(path: str | Path) -> Any:
    """A saved Functional or Sequential model; anything else is a one-line error."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"--keras {path}: no such file or folder")
    if not (path.is_dir() or path.suffix in (".keras", ".h5", ".hdf5")):
        raise InputError(f"--keras {path}: expected a .keras or .h5 file or a SavedModel folder")
    custom = custom_layers(path)
    if custom:
        raise InputError(
            f"--keras {path}: custom layer(s) {', '.join(custom)} cannot be loaded: cnnpc needs "
            "models built from Keras's own layers"
        )
    try:
        model = keras.models.load_model(path, compile=False)
    except (ValueError, TypeError) as exc:
        text = first_line(exc)
        if "Unknown layer" in text or "custom" in text.lower():
            raise InputError(
                f"--keras {path}: a custom layer cannot be loaded ({text}); cnnpc needs models "
                "built from Keras layers"
            ) from None
        raise InputError(f"--keras {path}: not a Keras model: {text}") from None
    except (OSError, KeyError, tf.errors.OpError) as exc:
        raise InputError(f"--keras {path}: not a Keras model: {first_line(exc)}") from None
    if not isinstance(model, keras.Model) or not hasattr(model, "get_config"):
        raise InputError(f"--keras {path}: not a Keras model")
    config = model.get_config() if _is_graph(model) else {}
    if "layers" not in config:
        raise InputError(
            f"--keras {path}: a subclassed model has no graph to split: save it as a Functional "
            "or Sequential model"
        )
    return _as_functional(model)


def _saved_config(path: Path) -> Any:
    """The model config stored in a .keras (zip) or .h5 file; None when it cannot be read."""
    try:
        if path.suffix == ".keras" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return json.loads(archive.read("config.json"))
        if path.suffix in (".h5", ".hdf5"):
            import h5py  # type: ignore[import-untyped]

            with h5py.File(path, "r") as handle:
                raw = handle.attrs.get("model_config")
                if raw is not None:
                    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except (OSError, KeyError, ValueError):
        return None
    return None


def custom_layers(path: Path) -> list[str]:
    """Layers of a saved model that are not Keras's own (as 'Class (name)'), read from its config
    without loading it: loading one fails with an error that does not name it."""
    config = _saved_config(path)
    found: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            cls, cfg = node.get("class_name"), node.get("config")
            if isinstance(cls, str) and isinstance(cfg, dict) and "name" in cfg:
                known = hasattr(keras.layers, cls) or cls in ("Functional", "Sequential", "Model")
                if not known:
                    found.append(f"{cls} ({cfg['name']})")
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    if isinstance(config, dict):
        visit(config.get("config", {}).get("layers", []))
    return found


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


def reconfigure(model: Any, size: int, classes: int, bn_momentum: float | None = 0.9) -> Any:
    """The same architecture (fresh weights) at `size` x `size` input with `classes` outputs."""
    return from_config(model.get_config(), size, classes, bn_momentum)


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
    config: dict[str, Any], size: int, classes: int, bn_momentum: float | None = 0.9
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
