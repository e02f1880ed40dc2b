"""The options several commands share, declared once: the model, device and link settings of
every command that prices plans (built into `LinkOptions` here), and where accuracies come from
(search, sweep; built into `AccuracySpec` here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cnnpc.jobs._options import (
    TRUST_CODE_HELP,
    epochs_int,
    keep_grid_option,
    option,
    parse_accuracy,
    rate_mbps,
    seed_int,
    storage_option,
    time_ms,
    trust,
)
from cnnpc.planner import LinkOptions
from cnnpc.records import MAX_EPOCHS
from cnnpc.spaces import KeepGrid

if TYPE_CHECKING:
    from cnnpc.accuracy import AccuracySpec


def model_option() -> Any:
    """--model (required) of a command that prices plans."""
    return option("--model", help="model name (see 'cnnpc profiles')")


def device_option() -> Any:
    """--device (required) of a command that prices plans."""
    return option("--device", help="end device profile, e.g. MI8 or MI8SE")


@dataclass(frozen=True, kw_only=True)
class LinkChoice:
    """Everything but the edge->cloud rate that prices a plan, as the command line asks it
    (`link_options()` is the planner's one checked object)."""

    uplink: float = option(
        "--uplink", default=20.0, type=rate_mbps, metavar="MBPS", help="end->edge Mbps (20)"
    )
    uplink_latency: float = option(
        "--uplink-latency",
        default=0.0,
        type=time_ms,
        metavar="MS",
        help="end->edge one-way latency; a plan using the link pays it there and back (0)",
    )
    latency: float = option(
        "--latency",
        default=0.0,
        type=time_ms,
        metavar="MS",
        help="edge->cloud one-way latency; a plan using the link pays it there and back (0)",
    )
    conventions: str = option(
        "--conventions",
        default="si",
        choices=("si", "cnnpc"),
        help="si: 1 Mbps = 10^6 bit/s (default); cnnpc: the unit CNNPC's published tables use "
        "(2^20 bit/s for mobilenet), to reproduce its numbers",
    )
    overhead_ms: float | None = option(
        "--overhead-ms",
        default=None,
        type=time_ms,
        metavar="MS",
        help="fixed per-inference overhead (default 1.66 = CNNPC's 0.53 + 1.13)",
    )
    prune_compute: str = option(
        "--prune-compute",
        default="none",
        choices=("none", "linear"),
        help="none: pruning shrinks transfers only (CNNPC); linear: a segment's time also "
        "scales by the mean kept fraction of its input and output tensors",
    )

    def link_options(self) -> LinkOptions:
        """The planner's link settings (checked there)."""
        return LinkOptions(
            uplink_mbps=self.uplink,
            uplink_latency_ms=self.uplink_latency,
            latency_ms=self.latency,
            conventions=self.conventions,
            overhead_ms=self.overhead_ms,
            prune_compute=self.prune_compute,
        )


@dataclass(frozen=True, kw_only=True)
class AccuracyChoice:
    """Where accuracies come from and are cached (search, sweep), as the command line asks it;
    `spec(model)` is the library's one accuracy-source spec."""

    seed: int = option("--seed", default=0, type=seed_int)
    storage: str | None = storage_option()
    epochs: int | None = option(
        "--epochs",
        default=None,
        type=epochs_int,
        help=f"fine-tune epochs per candidate (at most {MAX_EPOCHS:,})",
    )
    data: str | None = option(
        "--data", default=None, metavar="DIR", help="your data: one folder per class"
    )
    weights: str | None = option(
        "--weights", default=None, metavar="FILE", help="your trained Keras model"
    )
    trust_code: bool = option("--trust-code", action="store_true", help=TRUST_CODE_HELP)
    accuracy: str = option(
        "--accuracy",
        default="finetune",
        type=parse_accuracy,
        metavar="finetune|supernet|table:FILE",
        help="where accuracies come from: fine-tuning (default), estimates of a supernet "
        "trained once (a search confirms its answer by fine-tuning) or only an accuracy table "
        "(see 'cnnpc accuracy export'; configurations it lacks are recorded as unmeasured)",
    )
    keep_grid: KeepGrid | None = keep_grid_option()

    def spec(self, model: str) -> AccuracySpec:
        """The accuracy source of `model` these options name (`weights` trusted if asked)."""
        from cnnpc.accuracy import AccuracySpec

        trust(self.trust_code, self.weights)
        return AccuracySpec(
            model=model,
            accuracy=self.accuracy,
            epochs=self.epochs,
            seed=self.seed,
            data=self.data,
            weights=self.weights,
        )
