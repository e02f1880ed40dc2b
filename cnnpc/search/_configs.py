"""Keep configurations in the search: Optuna parameters and split-aware normalisation.

A configuration maps candidate -> kept fraction (1.0 = unpruned). Tied residual groups are one
search parameter. With CNNPC's rule (pruning shrinks only transfers), pruning a candidate where the
plan does not split costs accuracy and buys nothing, so every configuration is *normalised*: after
the planner picks the layout, candidates away from its split points are restored to full width. The
chosen plan stays optimal (un-pruning only makes other layouts slower), and the number of distinct
configurations to fine-tune drops from grid^candidates to about (split pairs) x grid^2.

On the per-channel grid (``keep_grid: channels``) a value is c/C and Optuna's parameter is the
channel count c itself (an ordered integer, so TPE can learn that nearby counts behave alike).
"""

from __future__ import annotations

import itertools
from collections.abc import Container, Iterator, Mapping
from typing import Any

from cnnpc.planner import Plan, Planner
from cnnpc.records import KeepConfig, keep_key
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


def to_params(space: SearchSpace, config: Mapping[str, float]) -> dict[str, float | int]:
    """Full configuration -> Optuna parameter values (every parameter present)."""
    if space.per_channel:
        return {
            p: kept_count(float(config.get(p, 1.0)), _channels(space, p)) for p in parameters(space)
        }
    return {param: float(config.get(param, 1.0)) for param in parameters(space)}


def from_params(space: SearchSpace, values: Mapping[str, float | str]) -> Config:
    """Optuna parameter values -> full configuration (inverse of `to_params`)."""
    if space.per_channel:
        return expand(space, {p: int(values[p]) / _channels(space, p) for p in parameters(space)})
    return expand(space, {p: float(values[p]) for p in parameters(space)})


def distributions(space: SearchSpace) -> dict[str, Any]:
    """Optuna's distribution of every parameter: the grid's fractions, or 1..C channels."""
    import optuna

    if space.per_channel:
        return {
            p: optuna.distributions.IntDistribution(1, _channels(space, p))
            for p in parameters(space)
        }
    return {
        p: optuna.distributions.CategoricalDistribution(list(space.fractions(p)))
        for p in parameters(space)
    }


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
    profile = planner.profile
    goal = objective or SearchObjective()
    plan = goal.layout(planner, KeepConfig.from_fractions(profile.space, config))
    if planner.conventions.prune_compute != "none" or (
        rows is not None and keep_key(config) in rows
    ):
        return dict(config), plan  # pruning also speeds compute: every pruned candidate matters
    space = profile.space
    needed = {member for name in plan.splits for member in space.group_of(name)}
    reduced = {k: v for k, v in config.items() if k in needed and v < 1.0}
    if reduced != config:
        plan = goal.layout(planner, KeepConfig.from_fractions(profile.space, reduced))
    return reduced, plan


def split_aware_grid(space: SearchSpace) -> Iterator[Config]:
    """Every normalised configuration: baseline, then one pruned split, then two, in grid order.

    A split needs pruning only where the plan cuts: 0, 1 or 2 candidates (with their groups).
    On the per-channel grid of mobilenet that is 66,887 configurations (1,079 on eighths).
    """
    params = list(parameters(space))
    grids = {p: [f for f in space.fractions(p) if f < 1.0] for p in params}
    yield {}
    for size in (1, 2):
        for chosen in itertools.combinations(params, size):
            for fractions in itertools.product(*(grids[p] for p in chosen)):
                yield expand(space, dict(zip(chosen, fractions, strict=True)))
