"""`deploy`: a stored search's best plan as a plan folder, from the model that was measured.

The search's own settings (model, workload, fine-tune budget, seed) reopen the accuracy oracle,
whose identity must equal the search's budget key: otherwise the weights would not be the ones
whose accuracy the search reported, and deploying is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from cnnpc import __version__
from cnnpc._images import resize_bilinear
from cnnpc.codec import split_bits_texts
from cnnpc.deploy._build import (
    DeployError,
    build_deployment,
    check_plan_target,
    plan_document,
    write_plan_folder,
)
from cnnpc.deploy._codecs import RATIO_IMAGES, split_tensors, with_codecs
from cnnpc.deploy._layout import Layout
from cnnpc.errors import InputError
from cnnpc.planner import LinkOptions, Planner, search_planner
from cnnpc.records import (
    AccuracyRef,
    DeployOptions,
    PlanChoice,
    PlanDocument,
    PlanHead,
    PlanSetDocument,
    Predicted,
    SearchRef,
    WorkloadRef,
    split_config,
)
from cnnpc.storage import BestPlan, SearchRecord, Storage, display_url, resolve_url

if TYPE_CHECKING:
    from cnnpc._keras import KerasModel
    from cnnpc.codec import CodecChoice
    from cnnpc.oracle import AccuracyOracle
    from cnnpc.search import OracleSource
    from cnnpc.workloads import Workload


Document = TypeVar("Document", PlanDocument, PlanSetDocument)


@dataclass(frozen=True)
class DeployResult(Generic[Document]):
    """What a deployment wrote: the folder, its document (plan.json or planset.json)."""

    folder: Path
    plan: Document
    finetuned: bool
    """True when the model's weights were not kept and it was fine-tuned again."""


def best_plan(storage: Storage, search_id: int) -> tuple[SearchRecord, BestPlan]:
    """The search and its stored best plan; a search without one cannot be deployed."""
    search = storage.get_search(search_id)
    best = storage.get_best_plan(search_id)
    if best is None:
        raise DeployError(
            f"search {search_id} has no feasible best plan to deploy (status: {search.status}"
            + (f": {search.message}" if search.message else "")
            + ")"
        )
    return search, best.plan


def open_search_source(
    search: SearchRecord,
    data: str | None,
    weights: str | None,
    progress: bool,
    oracle: AccuracyOracle | None = None,
) -> OracleSource:
    """The fine-tuning source the search used (around `oracle` if given), checked against its
    budget key; built by the same factory as the search's (`accuracy.AccuracySpec`)."""
    from cnnpc.accuracy import AccuracySpec
    from cnnpc.search import OracleSource

    _refuse_untrained(search)
    if oracle is not None:
        return _check_identity(search, OracleSource(oracle))
    if search.workload != "digits" and data is None:
        raise InputError(
            f"search {search.id} ran on {search.workload!r}: give the same --data (and --weights)"
        )
    spec = AccuracySpec(  # the search's own settings (cnnpc_searches.epochs and seed)
        search.model, epochs=search.epochs, seed=search.seed or 0, data=data, weights=weights
    )
    return _check_identity(search, spec.finetuning(progress=progress, finetune_progress=progress))


def open_search_oracle(
    search: SearchRecord,
    data: str | None,
    weights: str | None,
    progress: bool,
    oracle: AccuracyOracle | None = None,
) -> AccuracyOracle:
    """The accuracy oracle the search used (or `oracle`), checked against its budget key."""
    return open_search_source(search, data, weights, progress, oracle).oracle


_UNTRAINED = {
    "table:": "took its accuracies from an accuracy table (--accuracy table:FILE)",
    "supernet:": "ranked supernet estimates (deploy the search that confirmed them)",
}


def _refuse_untrained(search: SearchRecord) -> None:
    """A search whose accuracies no fine-tune here reproduces is refused before the baseline
    is trained (minutes) only for the budget key check to refuse it after."""
    for prefix, why in _UNTRAINED.items():
        if search.budget_key.startswith(prefix):
            raise DeployError(
                f"search {search.id} {why}: its models were not fine-tuned by cnnpc, so there "
                "is nothing to deploy; deploy a search that fine-tuned (--accuracy finetune)"
            )


def _check_identity(search: SearchRecord, source: OracleSource) -> OracleSource:
    if source.budget_key != search.budget_key:
        raise DeployError(
            f"search {search.id}'s models cannot be rebuilt here: its baseline, data or budget "
            "differ (same --data/--weights as the search? same cnnpc version?)"
        )
    return source


@dataclass(frozen=True)
class DeployInputs(DeployOptions):
    """The deploy options (`DeployOptions`) and the oracle a caller may hand in."""

    oracle: AccuracyOracle | None = None
    """Stands in for the oracle the search's settings would open (tests, notebooks); it must
    have the search's identity (budget key)."""

    @classmethod
    def of(cls, options: DeployOptions) -> DeployInputs:
        """The inputs that open the search's own oracle with `options`."""
        return cls(**{f.name: getattr(options, f.name) for f in fields(options)})

    def open_source(self, search: SearchRecord) -> OracleSource:
        """The fine-tuning source `search` used (or one around the given oracle), checked."""
        return open_search_source(search, self.data, self.weights, self.progress, self.oracle)

    def open_oracle(self, search: SearchRecord) -> AccuracyOracle:
        """The accuracy oracle `search` used (or the given one), checked against it."""
        return self.open_source(search).oracle


def deploy(
    search_id: int, out: str | Path, inputs: DeployInputs | None = None
) -> DeployResult[PlanDocument]:
    """Write search `search_id`'s best plan to folder `out` (see ``write_plan_folder``)."""
    inputs = inputs or DeployInputs()
    target = check_plan_target(out, inputs.force)  # fail before minutes of work
    priced = open_best_plan(search_id, inputs.storage_url)
    search, best, names = priced.search, priced.best, priced.names
    layout = Layout.of_tiers(best.tiers, len(names))
    searched = searched_codecs(search)
    if searched is not None and inputs.codecs is not None:
        raise InputError(
            f"search {search.id} chose its split tensors' codecs itself (--bits/--entropy at "
            "search time, fine-tuned through them): deploy it without --bits/--entropy"
        )
    choice = inputs.codecs or searched
    oracle = inputs.open_oracle(search)
    runs = oracle.finetunes
    model, images, size = tuned_at_size(oracle, best.keep, inputs.image_size)
    workload = oracle.workload
    parts, links, files = build_deployment(
        model, oracle.space, layout, images, priced.planner.links, names
    )
    source = f"search {search.id}'s best plan, {search.device} profile"
    latency_ms, breakdown = best.latency_ms, best.breakdown.as_dict()
    if choice is not None:  # each link's codec (by price or the plan's), the ratio measured
        tensors = split_tensors(parts, files, held_out_images(workload, size))
        coded, links = with_codecs(
            priced.planner,
            (layout.a, layout.b),
            best.keep,
            links,
            tensors,
            choice,
            timed=searched is not None,
        )
        text = _choice_text(choice) if searched is None else _plan_codecs_text(best.bits, choice)
        source += f", links coded ({text})"
        latency_ms, breakdown = coded.latency_ms, coded.breakdown.as_dict()
    head = provenance(search, priced.url, priced.options, workload, size)
    assert head.search is not None
    head = replace(
        head,
        search=replace(head.search, trial=best.trial),
        plan=PlanChoice(
            mode=best.mode,
            splits=tuple(best.splits),
            tiers=best.tiers.as_dict(),
            keep=dict(best.keep),
            channels=oracle.kept_channels(split_config(best.keep)[0]),
        ),
        accuracy=AccuracyRef(val=best.val_accuracy, test=best.test_accuracy),
        predicted=Predicted(source=source, latency_ms=latency_ms, breakdown=breakdown),
    )
    plan = plan_document(head, size, parts, links, files)
    folder = write_plan_folder(target, plan, files, force=inputs.force)
    return DeployResult(folder, plan, oracle.finetunes > runs)


def _choice_text(choice: CodecChoice) -> str:
    """'bits 8/4/2, zstd'."""
    return f"bits {'/'.join(map(str, choice.bits))}, entropy {choice.entropy}"


def _plan_codecs_text(bits: Mapping[str, int], choice: CodecChoice) -> str:
    """'the search's: block1 2 bits, entropy zstd'."""
    widths = ", ".join(split_bits_texts(tuple(sorted(bits.items())))) or "int8"
    return f"the search's: {widths}, entropy {choice.entropy}"


def provenance(
    search: SearchRecord, url: str, options: LinkOptions, workload: Workload, size: int
) -> PlanHead:
    """Where a deployed plan comes from: cnnpc, the search and its links, the workload (the
    head of every plan.json, single plans and plan sets alike)."""
    return PlanHead(
        created_at=datetime.now(UTC).isoformat(),
        cnnpc_version=__version__,
        model=search.model,
        search=SearchRef(
            id=search.id,
            storage=display_url(url),
            device=search.device,
            mode=search.mode,
            target=search.target,
            uplink_mbps=search.links.uplink_mbps,
            bandwidth_mbps=search.links.bandwidth_mbps,
            conventions=options.conventions,
        ),
        workload=WorkloadRef(
            name=workload.name,
            image_size=size,
            trained_size=workload.input_size,
            classes=tuple(workload.classes),
        ),
    )


@dataclass(frozen=True)
class PricedBest:
    """A stored search's best plan with the links and profile it was priced on (what every
    kind of deployment starts from)."""

    search: SearchRecord
    best: BestPlan
    url: str
    options: LinkOptions
    """The search's `LinkOptions`, as it priced."""
    planner: Planner

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.planner.profile.segments)


def open_best_plan(search_id: int, storage_url: str | None) -> PricedBest:
    """Search `search_id`'s best plan and the planner of its profile and stored links."""
    url = resolve_url(storage_url)
    with Storage(url, create=False) as storage:
        search, best = best_plan(storage, search_id)
    options, planner = search_planner(search)
    return PricedBest(search, best, url, options, planner)


def searched_codecs(search: SearchRecord) -> CodecChoice | None:
    """The codecs a search with --bits/--entropy priced its plans with (None: int8 only).

    Its configurations carry their split tensors' widths (`BestPlan.bits`); every other split
    tensor is int8, and all of them go through its coder. So the deployment's links take the
    plan's own widths, not a width chosen again by price: that would change what was fine-tuned.
    """
    from cnnpc.codec import MAX_BITS, CodecChoice

    if "bits" not in search.extra and "entropy" not in search.extra:
        return None
    return CodecChoice((MAX_BITS,), str(search.extra.get("entropy", "none")))


def refuse_coded_search(search: SearchRecord, what: str) -> None:
    """One line for the deployments that do not build a coded search's plans yet."""
    if searched_codecs(search) is not None:
        raise InputError(
            f"search {search.id} chose its split tensors' codecs (--bits/--entropy): {what} of "
            f"such a search is not built yet; deploy its best plan alone (cnnpc deploy "
            f"{search.id} --out DIR)"
        )


def tuned_at_size(
    oracle: AccuracyOracle, keep: Mapping[str, float], image_size: int | None
) -> tuple[KerasModel, npt.NDArray[np.float32], int]:
    """The oracle's tuned model for the configuration `keep` and its calibration images, at
    the deployed size (the training size unless `image_size` is given); (model, images, size).

    A configuration with split tensors below 8 bits was fine-tuned through split quantizers;
    the deployed model goes without them, as the runtime's codec does their rounding."""
    from cnnpc.compression import strip_split_quantizers

    fractions, bits = split_config(keep)
    model = strip_split_quantizers(oracle.tuned_model(fractions, bits))
    workload = oracle.workload
    size = workload.input_size if image_size is None else image_size
    images = workload.train.x
    if size != workload.input_size:
        model, images = _at_size(model, images, size)
    return model, images, size


def held_out_images(workload: Workload, size: int) -> npt.NDArray[np.float32]:
    """The validation images at the deployed size: what the coder's ratio is measured on
    (images the model was not trained on compress as served ones do; training images'
    tensors came out 1-2 % more compressible on the digits plans)."""
    images = workload.val.x[:RATIO_IMAGES]
    if size == workload.input_size:
        return images
    return _resized(images, size)


def _at_size(
    model: KerasModel, images: npt.NDArray[np.float32], size: int
) -> tuple[KerasModel, npt.NDArray[np.float32]]:
    """The same network and images at `size` x `size` (the networks are fully convolutional)."""
    from cnnpc._keras import keras, tfmot

    inputs = keras.Input(shape=(size, size, int(model.input_shape[-1])), name=model.input_names[0])
    try:
        with tfmot.quantization.keras.quantize_scope():
            resized = keras.models.clone_model(model, input_tensors=inputs)
    except ValueError as exc:
        raise InputError(f"the model cannot run at {size}x{size} input: {exc}") from None
    resized.set_weights(model.get_weights())
    return resized, _resized(images[:64], size)


def _resized(images: npt.NDArray[np.float32], size: int) -> npt.NDArray[np.float32]:
    """`images` at `size` x `size`, kept in [0, 1] as the workload's images are."""
    return np.clip(resize_bilinear(images, size, size), 0.0, 1.0).astype(np.float32)
