"""Compression: structured channel pruning by model surgery, then TF-MOT fine-tuning.

Importing this imports TensorFlow.
"""

from __future__ import annotations

from cnnpc.compression._finetune import (
    CompressionError,
    FinetuneBudget,
    FinetuneResult,
    finetune,
    quantization_aware,
)
from cnnpc.compression._groups import ChannelGraph, ChannelGroup, channel_graph, inbound_layers
from cnnpc.compression._importance import channel_scores, select_channels
from cnnpc.compression._splitquant import (
    SplitQuantize,
    copy_weights,
    fake_quantize,
    insert_split_quantizers,
    quantize_after,
    strip_split_quantizers,
)
from cnnpc.compression._surgery import (
    Indices,
    PrunedModel,
    candidate_groups,
    group_fractions,
    group_indices,
    kept_indices,
    prune_channels,
    rebuild,
    split_layer,
)
from cnnpc.spaces import kept_count

__all__ = [
    "ChannelGraph",
    "ChannelGroup",
    "CompressionError",
    "FinetuneBudget",
    "FinetuneResult",
    "Indices",
    "PrunedModel",
    "SplitQuantize",
    "candidate_groups",
    "channel_graph",
    "channel_scores",
    "copy_weights",
    "fake_quantize",
    "finetune",
    "group_fractions",
    "group_indices",
    "inbound_layers",
    "insert_split_quantizers",
    "kept_count",
    "kept_indices",
    "prune_channels",
    "quantization_aware",
    "quantize_after",
    "rebuild",
    "select_channels",
    "split_layer",
    "strip_split_quantizers",
]
