"""Where a deployment finds the search's models and how it writes its folder: a record read
without TensorFlow, so the deploy job holds it while it checks its options, and `cnnpc.deploy`
(which imports TensorFlow) extends it with a stand-in oracle."""

from __future__ import annotations

from dataclasses import dataclass

from cnnpc.codec import CodecChoice


@dataclass(frozen=True)
class DeployOptions:
    """What every kind of deployment (a plan, a plan set, an upload folder) is told beyond the
    search and the folder: one record instead of one signature each."""

    storage_url: str | None = None
    data: str | None = None
    """The search's --data folder (its models are tuned on it)."""
    weights: str | None = None
    image_size: int | None = None
    """Deployed input size (default: the training size)."""
    force: bool = False
    """Replace an existing folder (only one cnnpc wrote)."""
    progress: bool = False
    codecs: CodecChoice | None = None
    """The codecs a plan's split tensors may travel in, each link's chosen by price (None:
    int8, as the search priced; plan sets and upload folders take none yet)."""
