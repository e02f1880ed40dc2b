"""Which channels of a group to keep: an L1-norm criterion on the batch-norm-folded filters.

Channel c of a group is scored by every layer with a kernel that writes it: the convolutions that
produce the group and the depthwise convolutions inside it. Each layer contributes the L1 norm of
its filter c, multiplied by |gamma_c| / sqrt(var_c + eps) of the batch normalization that follows
it (if any), because that is the filter's norm once the BN is folded into it, i.e. its real scale.
Each layer's scores are divided by their mean before they are summed, so a group's layers count
equally whatever their weight scale. The highest-scoring channels are kept (ties: lower index).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from cnnpc.compression._groups import ChannelGraph, ChannelGroup

_SCORED = frozenset({"Conv2D", "Dense", "DepthwiseConv2D"})


def _following_bn(graph: ChannelGraph, layer: str) -> str | None:
    """The batch normalization fed directly and only by `layer`, if there is one."""
    children = [n for n, parents in graph.inbound.items() if parents == (layer,)]
    if len(children) == 1 and graph.class_name[children[0]] == "BatchNormalization":
        return children[0]
    return None


def _filter_norms(model: Any, graph: ChannelGraph, layer: str) -> npt.NDArray[np.float64]:
    kernel = np.asarray(model.get_layer(layer).get_weights()[0], dtype=np.float64)
    if graph.class_name[layer] == "DepthwiseConv2D":
        norms = np.abs(kernel).sum(axis=(0, 1, 3))  # (kh, kw, channels, 1)
    else:
        norms = np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0)  # (..., in, out)
    bn_name = _following_bn(graph, layer)
    if bn_name is not None:
        bn = model.get_layer(bn_name)
        gamma = np.ones_like(norms) if bn.gamma is None else np.asarray(bn.gamma.numpy())
        variance = np.asarray(bn.moving_variance.numpy(), dtype=np.float64)
        norms = norms * np.abs(gamma) / np.sqrt(variance + bn.epsilon)
    return np.asarray(norms, dtype=np.float64)


def channel_scores(model: Any, graph: ChannelGraph, group: ChannelGroup) -> npt.NDArray[np.float64]:
    """Importance of each channel of `group` (higher = more important)."""
    total = np.zeros(group.channels, dtype=np.float64)
    for layer in group.members:
        if graph.class_name[layer] not in _SCORED:
            continue
        norms = _filter_norms(model, graph, layer)
        mean = norms.mean()
        total += norms / mean if mean > 0 else norms
    return total


def select_channels(scores: npt.NDArray[np.float64], keep: int) -> npt.NDArray[np.int64]:
    """Indices of the `keep` best channels, in their original order."""
    order = np.lexsort((np.arange(scores.size), -scores))  # by score desc, then index asc
    return np.sort(order[:keep]).astype(np.int64)
