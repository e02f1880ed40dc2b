"""Plan sets with codecs (`deploy --adaptive --bits`, DynO's knob): the codec is one more thing a
plan set switches as the link changes.

Every plan the sweep found is offered at every codec the choice allows on each of its coded
links (the int8 split tensors; the raw float32 image takes none), its bytes on that link those
the codec sends (packed bytes over the entropy coder's ratio, measured by `deploy` on the parts
themselves, as for one plan). The set is then what is best at each point of the same grid the
sweep used, by the set's own rule (`SetPlan.predict_ms`), so two plans may differ only in their
codec: the same parts, a narrower tensor on a slower link. The runtime switches between them with
the hysteresis it switches plans with. The accuracy of a narrower codec is not re-measured: each
plan keeps the val accuracy its configuration was measured at (int8). Nothing here imports
TensorFlow.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cnnpc.codec import Codec, CodecChoice, CodecMeasure
from cnnpc.planset import GRID_POINTS, grid
from cnnpc.records import LinkSpec, PlanSet, SetPlan, switches

LINK_OF = {"end": "end->edge", "edge": "edge->cloud"}
"""A link's name by the tier that sends on it."""


@dataclass(frozen=True)
class CodedPlan:
    """A plan of the coded set: the sweep's plan it runs (`source`, its label in the sweep's
    set) and its links, each with the codec it is sent with."""

    source: str
    links: tuple[LinkSpec, ...]


def link_variants(
    link: LinkSpec, measures: Sequence[CodecMeasure], choice: CodecChoice
) -> list[LinkSpec]:
    """`link` at each width of `choice`, widest first (ties go to the finer tensor); a float32
    link only as it is."""
    if link.spec.dtype != "int8":
        return [link]
    ratios = {(m.candidate, m.bits): m.ratio for m in measures}
    out = []
    for bits in sorted(set(choice.bits), reverse=True):
        codec = Codec(bits, choice.entropy)
        ratio = ratios.get((link.tensor, bits)) if codec.entropy != "none" else None
        out.append(dataclasses.replace(link, codec=codec, entropy_ratio=ratio))
    return out


TIER = {"end": 0, "edge": 1, "cloud": 2}


def _coded_row(
    plan: SetPlan, links: Sequence[LinkSpec], measures: Sequence[CodecMeasure]
) -> SetPlan:
    """`plan` with each link's bytes scaled to what its codec sends and its encode and decode
    time added to the sending and receiving tiers' compute (a tensor the edge only relays in
    one codec is not decoded and coded again there, as the runtime relays it)."""
    scale = {link.source: link.predicted_bytes / link.bytes for link in links}
    times = {(m.candidate, m.bits): (m.encode_ms, m.decode_ms) for m in measures}
    compute = list(plan.compute_ms)
    coded = [lk for lk in links if not lk.codec.is_default]
    relayed = plan.a == plan.b and len(coded) == 2 and coded[0].codec == coded[1].codec
    for link in coded:
        encode_ms, decode_ms = times.get((link.tensor, link.codec.bits), (0.0, 0.0))
        if not (relayed and link.source == "edge"):
            compute[TIER[link.source]] += encode_ms
        if not (relayed and link.target == "edge"):
            compute[TIER[link.target]] += decode_ms
    return dataclasses.replace(
        plan,
        compute_ms=(compute[0], compute[1], compute[2]),
        uplink_bytes=plan.uplink_bytes * scale.get("end", 1.0),
        downlink_bytes=plan.downlink_bytes * scale.get("edge", 1.0),
        codecs={LINK_OF[lk.source]: lk.codec for lk in coded},
    )


def coded_plan_set(
    table: PlanSet,
    links: Mapping[str, Sequence[LinkSpec]],
    measures: Mapping[str, Sequence[CodecMeasure]],
    choice: CodecChoice,
    points: int = GRID_POINTS,
) -> tuple[PlanSet, dict[str, CodedPlan]]:
    """The plans of `table` (with their deployed `links` and the coder's `measures`, both by
    label) at every codec of `choice`, reduced to those best somewhere on the grid over the
    set's range; relabelled P1, P2... in the order they first win, with their switching table.
    Also each new label's `CodedPlan`."""
    offered: list[tuple[SetPlan, CodedPlan]] = []
    for plan in table.plans:
        measured = measures.get(plan.label, ())
        per_link = [link_variants(lk, measured, choice) for lk in links[plan.label]]
        for combo in itertools.product(*per_link):
            row = _coded_row(plan, combo, measured)
            offered.append((row, CodedPlan(plan.label, tuple(combo))))
    wins: dict[int, list[float]] = {}
    for rate in grid(table.low_mbps, table.high_mbps, points):
        at = dataclasses.replace(table.links, bandwidth_mbps=rate)
        best = min(range(len(offered)), key=lambda i: offered[i][0].predict_ms(at))
        wins.setdefault(best, []).append(rate)
    rows: list[SetPlan] = []
    coded: dict[str, CodedPlan] = {}
    for n, (i, rates) in enumerate(wins.items(), start=1):
        row, chosen = offered[i]
        label = f"P{n}"
        rows.append(
            dataclasses.replace(row, label=label, file=f"plan-{label}.json", best_mbps=tuple(rates))
        )
        coded[label] = chosen
    plans = tuple(rows)
    return dataclasses.replace(
        table, plans=plans, switches=switches(plans, table.links, table.hysteresis)
    ), coded
