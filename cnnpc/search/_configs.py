"""Keep configurations in the search: Optuna parameters and split-aware normalisation.

A configuration maps candidate -> kept fraction (1.0 = unpruned). Tied residual groups are one
search parameter. With CNNPC's rule (pruning shrinks only transfers), pruning a candidate where the
plan does not split costs accuracy and buys nothing, so every configuration is *normalised*: after
the planner picks the layout, candidates away from its split points are restored to full width. The
chosen plan stays optimal (un-pruning only makes other layouts slower), and the number of distinct
configurations to fine-tune drops from grid^candidates to about (split pairs) x grid^2.

On the per-channel grid (``keep_grid: channels``) a value is c/C and Optuna's parameter is the
channel count c itself (an ordered integer, so TPE can learn that nearby counts behave alike).

With more than one bit width (``--bits``), every search parameter also has a width (Optuna's
parameter ``NAME@bits``, categorical): the bits its split tensor is sent in (`cnnpc.codec`),
carried in the configuration as ``NAME@bits`` entries (`cnnpc.records.split_config`). 8 bits is
no entry, so an int8 search has exactly the parameters and configurations it had before codecs.
"""

from __future__ import annotations

import itertools
from collections.abc import Container, Iterator, Mapping
from typing import Any

from cnnpc.codec import MAX_BITS
from cnnpc.planner import Plan, Planner
from cnnpc.records import KeepConfig, bits_entry, keep_key, split_config
from cnnpc.search._objective import SearchObjective
from cnnpc.spaces import SearchSpace, kept_count

Config = dict[str, float]


def parameters(space: SearchSpace) -> dict[str, tuple[str, ...]]:
    """Search parameters: one per prunable candidate, one per tied group (named by its first)."""
    params: dict[str, tuple[str, ...]] = {}
    for cand in space.prunable():
        group = space.group_of(cand.name)
        if group[0] == cand.name or len(group) == 1:
            params[cand.name] = group
    return params


def expand(space: SearchSpace, values: Mapping[str, float]) -> Config:
    """Parameter values -> full configuration (group members share their parameter's value)."""
    config: Config = {}
    for param, members in parameters(space).items():
        fraction = float(values.get(param, 1.0))
        if fraction < 1.0:
            for member in members:
                config[member] = fraction
    return config


def _channels(space: SearchSpace, param: str) -> int:
    return space.candidates[space.index(param)].channels


def _coded(bits: tuple[int, ...]) -> bool:
    """Whether a search has a bit dimension (more than the int8 tensor alone)."""
    return len(bits) > 1


def with_bits(space: SearchSpace, config: Mapping[str, float], bits: Mapping[str, int]) -> Config:
    """`config` with each search parameter's width (`bits`, by parameter) on its members."""
    out = dict(config)
    for param, members in parameters(space).items():
        width = int(bits.get(param, MAX_BITS))
        if width != MAX_BITS:
            out.update({bits_entry(m): float(width) for m in members})
    return out


def to_params(
    space: SearchSpace, config: Mapping[str, float], bits: tuple[int, ...] = (MAX_BITS,)
) -> dict[str, float | int]:
    """Full configuration -> Optuna parameter values (every parameter present)."""
    fractions, widths = split_config(config)
    out: dict[str, float | int]
    if space.per_channel:
        out = {
            p: kept_count(float(fractions.get(p, 1.0)), _channels(space, p))
            for p in parameters(space)
        }
    else:
        out = {param: float(fractions.get(param, 1.0)) for param in parameters(space)}
    if _coded(bits):
        out |= {bits_entry(p): widths.get(p, MAX_BITS) for p in parameters(space)}
    return out


def from_params(space: SearchSpace, values: Mapping[str, float | str]) -> Config:
    """Optuna parameter values -> full configuration (inverse of `to_params`)."""
    if space.per_channel:
        config = expand(space, {p: int(values[p]) / _channels(space, p) for p in parameters(space)})
    else:
        config = expand(space, {p: float(values[p]) for p in parameters(space)})
    widths = {p: int(values[bits_entry(p)]) for p in parameters(space) if bits_entry(p) in values}
    return with_bits(space, config, widths)


def distributions(space: SearchSpace, bits: tuple[int, ...] = (MAX_BITS,)) -> dict[str, Any]:
    """Optuna's distribution of every parameter: the grid's fractions, or 1..C channels (and
    with a bit dimension, each parameter's widths)."""
    import optuna

    out: dict[str, Any]
    if space.per_channel:
        out = {
            p: optuna.distributions.IntDistribution(1, _channels(space, p))
            for p in parameters(space)
        }
    else:
        out = {
            p: optuna.distributions.CategoricalDistribution(list(space.fractions(p)))
            for p in parameters(space)
        }
    if _coded(bits):
        choices = list(sorted(bits, reverse=True))
        out |= {
            bits_entry(p): optuna.distributions.CategoricalDistribution(choices)
            for p in parameters(space)
        }
    return out


def normalise(
    planner: Planner,
    config: Mapping[str, float],
    rows: Container[str] | None = None,
    objective: SearchObjective | None = None,
) -> tuple[Config, Plan]:
    """Best plan for `config`, and the configuration reduced to what that plan needs.

    `rows`: the keys of an accuracy table's rows a search draws from; a row is its own
    reduction (its accuracy is that of the row as it is; the plan's latency is the same).
    `objective`: what the plan minimises (None: latency, `Planner.best`)."""
    goal = objective or SearchObjective()
    plan = goal.layout(planner, KeepConfig.from_fractions(planner.profile.space, config))
    reduced = reduce_to_plan(planner, config, plan, rows)
    if reduced != config:
        plan = goal.layout(planner, KeepConfig.from_fractions(planner.profile.space, reduced))
    return reduced, plan


def reduce_to_plan(
    planner: Planner,
    config: Mapping[str, float],
    plan: Plan,
    rows: Container[str] | None = None,
) -> Config:
    """`config` reduced to the pruning (and widths) `plan`, its best plan, needs (`normalise`
    without pricing the reduction: its plan has the same latency)."""
    if planner.conventions.prune_compute != "none" or (
        rows is not None and keep_key(config) in rows
    ):
        return dict(config)  # pruning also speeds compute: every pruned candidate matters
    space = planner.profile.space
    needed = {member for name in plan.splits for member in space.group_of(name)}
    fractions, widths = split_config(config)
    reduced = {k: v for k, v in fractions.items() if k in needed and v < 1.0}
    reduced |= {bits_entry(k): float(w) for k, w in widths.items() if k in needed}
    return reduced


def split_aware_grid(space: SearchSpace, bits: tuple[int, ...] = (MAX_BITS,)) -> Iterator[Config]:
    """Every normalised configuration: baseline, then one pruned split, then two, in grid order.

    A split needs pruning only where the plan cuts: 0, 1 or 2 candidates (with their groups).
    On the per-channel grid of mobilenet that is 66,887 configurations (1,079 on eighths).
    With a bit dimension a chosen candidate is (fraction, width), kept whole at a width below 8
    included: int8's configurations come first, in the same order as without one.
    """
    params = list(parameters(space))
    yield {}
    grids = {p: [(f, MAX_BITS) for f in space.fractions(p) if f < 1.0] for p in params}
    yield from _grid(space, params, grids)
    if not _coded(bits):
        return
    widths = sorted((b for b in bits if b != MAX_BITS), reverse=True)
    coded = {p: [(f, w) for w in widths for f in space.fractions(p)] + grids[p] for p in params}
    for config in _grid(space, params, coded):
        if split_config(config)[1]:  # the int8 ones came first
            yield config


def _grid(
    space: SearchSpace, params: list[str], grids: Mapping[str, list[tuple[float, int]]]
) -> Iterator[Config]:
    """One and two chosen parameters, each at every (fraction, width) of its grid."""
    for size in (1, 2):
        for chosen in itertools.combinations(params, size):
            for values in itertools.product(*(grids[p] for p in chosen)):
                config = expand(space, {p: f for p, (f, _) in zip(chosen, values, strict=True)})
                yield with_bits(
                    space, config, {p: w for p, (_, w) in zip(chosen, values, strict=True)}
                )
