"""The one place that imports TensorFlow, Keras and TF-MOT, so the legacy-Keras switch is set once.

TF 2.21 defaults to Keras 3, which TF-MOT does not support; ``TF_USE_LEGACY_KERAS=1`` makes
``tf.keras`` (and TF-MOT) use tf-keras 2. The variable must be set before TensorFlow is first
imported, so every other module takes ``tf``, ``keras`` and TF-MOT from here.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from typing import TypeAlias

from cnnpc._litert import quiet, stderr_to_devnull

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _quiet_import() -> None:
    """Import TensorFlow with file descriptor 2 silenced.

    TF's C++ runtime prints oneDNN and CUDA notices before its log level applies (on a machine
    without a GPU, cuInit fails loudly on first device query), so the import and the first device
    listing run with stderr pointed at /dev/null. Python errors still surface as exceptions.
    """
    with stderr_to_devnull():
        import tensorflow

        with warnings.catch_warnings():  # TF-MOT checks TF's version with deprecated distutils
            warnings.simplefilter("ignore", DeprecationWarning)
            import tensorflow_model_optimization  # noqa: F401  (loads tf_keras under the switch)

        tensorflow.config.list_physical_devices()


_quiet_import()

import tensorflow as tf  # noqa: E402
import tensorflow_model_optimization as tfmot  # noqa: E402
import tf_keras as keras  # noqa: E402
from tf_keras.src.saving import serialization_lib as _serialization  # noqa: E402

tf.get_logger().setLevel("ERROR")
layers = keras.layers

KerasModel: TypeAlias = keras.Model
"""What cnnpc passes around as a network (a tf-keras 2 Model); annotate with it under
TYPE_CHECKING, so a module that only names the type does not import TensorFlow."""

# Keras rebuilds a Lambda layer's Python function from bytecode unless safe mode is on, and its
# default (unset) is off: every deserialization in cnnpc is safe unless a model is trusted.
_serialization.SAFE_MODE.safe_mode = True


@contextlib.contextmanager
def keras_code(allowed: bool) -> Iterator[None]:
    """Deserialize with Lambda bytecode allowed (a model the user trusts) or refused."""
    with _serialization.SafeModeScope(not allowed):
        yield


def is_keras_layer(class_name: str) -> bool:
    """Whether `class_name` is one of Keras' own layers (TF-op layers name a TF function)."""
    return hasattr(keras.layers, class_name) or class_name in ("TFOpLambda", "SlicingOpLambda")


__all__ = [
    "KerasModel",
    "is_keras_layer",
    "keras",
    "keras_code",
    "layers",
    "quiet",
    "tf",
    "tfmot",
]
