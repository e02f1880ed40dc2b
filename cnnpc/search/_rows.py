"""An accuracy table's rows as a search's configurations: the space a search on a table draws from.

A table says which configurations have an accuracy; anything else can only be recorded as
unmeasured. So on a table every strategy draws from its rows (plus the unpruned model): tpe and
random through a sampler that draws only untried rows (cnnpc/search/_row_sampler.py), and
exhaustive prices every row with the exact planner instead of walking the whole grid: N rows,
at most N trials, and the exact optimum over them. A row is a
configuration of the search when each pruned candidate's kept count is a point of the search's keep
grid: on the per-channel grid every row is; on a fraction grid a row such as ``block6=17`` (of 32)
is not, and is counted as off the grid (it belongs to a search on ``--keep-grid channels``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cnnpc.codec import MAX_BITS
from cnnpc.planner import Planner
from cnnpc.records import KeepConfig, join_config, keep_key
from cnnpc.search._configs import (
    Config,
    expand,
    from_params,
    parameters,
    reduce_to_plan,
    split_aware_grid,
)
from cnnpc.search._objective import SearchObjective
from cnnpc.search._summary import Exactness
from cnnpc.spaces import SearchSpace, kept_count

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial


@dataclass(frozen=True)
class TableRows:
    """The rows of a table that are configurations of the search's grid, by key."""

    configs: dict[str, Config]
    """keep_key -> configuration on the search's grid (the unpruned model always among them)."""
    off_grid: int
    """Rows whose kept counts are not on the search's keep grid (not searched)."""

    def __contains__(self, config: object) -> bool:
        """A configuration (a mapping of fractions), or a configuration's key, is a row."""
        if isinstance(config, str):
            return config in self.configs
        assert isinstance(config, Mapping)
        return keep_key(config) in self.configs

    def __len__(self) -> int:
        return len(self.configs)


def _on_grid(space: SearchSpace, row: KeepConfig) -> Config | None:
    """The row as fractions of the search's grid (None: a kept count is not on the grid)."""
    values: dict[str, float] = {}
    pruned = {b.name: b for b in row.pruned_blocks}
    for param in parameters(space):
        block = pruned.get(param)
        if block is None:
            continue
        count = block.kept  # the row's kept count, by the one keep rule
        if space.per_channel:
            values[param] = count / block.channels
            continue
        on_grid = [f for f in space.fractions(param) if kept_count(f, block.channels) == count]
        if not on_grid:
            return None
        values[param] = on_grid[0]
    config = expand(space, values)
    grid_row = KeepConfig.from_fractions(space, config)
    if {b.name for b in grid_row.pruned_blocks} != set(pruned):
        return None  # a tied member pruned without its parameter: not a configuration here
    return join_config(config, row.bits)


def table_rows(
    space: SearchSpace, rows: Iterable[KeepConfig], bits: tuple[int, ...] = (MAX_BITS,)
) -> TableRows:
    """The rows that are configurations of `space`'s grid, and how many are not; a row whose
    split tensors travel at a width outside `bits` is not one of this search's (an int8 search
    reads the int8 rows)."""
    configs: dict[str, Config] = {keep_key({}): {}}
    off_grid = 0
    for row in rows:
        if any(width not in bits for _, width in row.bits):
            continue
        config = _on_grid(space, row)
        if config is None:
            off_grid += 1
        else:
            configs.setdefault(keep_key(config), config)
    return TableRows(configs, off_grid)


def priced_rows(
    planner: Planner, rows: TableRows, objective: SearchObjective | None = None
) -> list[tuple[float, Config]]:
    """Every row with its exact latency (or `objective`'s value), fastest first (ties: fewer
    pruned candidates first).

    A row keeps its own pruning: its accuracy is that of this configuration, even where the plan
    does not cut at one of its pruned candidates (the latency is the same without it)."""
    goal = objective or SearchObjective()
    priced = [(goal.price(planner, c), len(c), key, c) for key, c in rows.configs.items()]
    priced.sort(key=lambda item: item[:3])
    return [(latency, config) for latency, _, _, config in priced]


def faster_lacking(
    planner: Planner,
    rows: TableRows,
    latency_ms: float,
    objective: SearchObjective | None = None,
    bits: tuple[int, ...] = (MAX_BITS,),
) -> int:
    """Configurations of the grid faster than `latency_ms` that the table has no row for
    (counted, by pricing every split-aware configuration once: about 7 s for the 66,887 of
    mobilenet's channel grid). Each counts once, reduced to the pruning its plan needs, as a
    search on the grid would try it."""
    goal = objective or SearchObjective()
    space = planner.profile.space
    lacking: set[str] = set()
    for config in split_aware_grid(space, bits):
        plan = goal.layout(planner, KeepConfig.from_fractions(space, config))
        if goal.value(plan) >= latency_ms:
            continue
        key = keep_key(reduce_to_plan(planner, config, plan))
        if key not in rows:
            lacking.add(key)
    return len(lacking)


def tried_rows(trials: Sequence[FrozenTrial], space: SearchSpace) -> set[str]:
    """Keys of the configurations the study's trials ran or are running (a failed trial, one
    interrupted, is not counted: its row may be drawn again). A trial not yet evaluated has no
    `config_key`: its parameters say which row it drew (a row is its own reduction)."""
    from optuna.trial import TrialState

    names = set(parameters(space))
    keys: set[str] = set()
    for trial in trials:
        if trial.state == TrialState.FAIL:
            continue
        key = trial.user_attrs.get("config_key")
        if key is None and names <= trial.params.keys():
            key = keep_key(from_params(space, trial.params))
        if key is not None:
            keys.add(str(key))
    return keys


def untried(rows: TableRows, study: Study, space: SearchSpace) -> list[Config]:
    """The table's rows no trial of `study` has drawn, in key order."""
    tried = tried_rows(study.get_trials(deepcopy=False), space)
    return [rows.configs[k] for k in sorted(rows.configs) if k not in tried]


def table_tried(
    rows: TableRows | None, study: Study, space: SearchSpace, strategy: str
) -> str | None:
    """Why a search drawing from a table stops (None: a row is left, or not on a table): every
    row, the unpruned model among them, has had its trial."""
    if rows is None or untried(rows, study, space):
        return None
    return f"{strategy} search space exhausted: all {len(rows)} configurations of the table tried"


def drawn_rows(
    rows: tuple[KeepConfig, ...] | None, space: SearchSpace, bits: tuple[int, ...] = (MAX_BITS,)
) -> TableRows | None:
    """The table's rows, which every strategy draws from (None: no table, the whole grid)."""
    if rows is None:
        return None
    return table_rows(space, rows, bits)


def exactness(
    planner: Planner,
    pending: int,
    candidates: int,
    rows: TableRows | None,
    best: float | None,
    passed_over: int | None,
    objective: SearchObjective | None = None,
    bits: tuple[int, ...] = (MAX_BITS,),
) -> Exactness:
    """An exhaustive walk's proof: proven when nothing that could beat its answer is `pending`;
    on a table, with the faster grid configurations it lacks (`best`: the answer's latency under
    an accuracy floor; None: no answer, or a latency budget, where nothing is counted) and the
    rows it read below the floor (`passed_over`; None under a latency budget)."""
    lacking = (
        None
        if rows is None or best is None
        else faster_lacking(planner, rows, best, objective, bits)
    )
    return Exactness(
        proven=pending == 0,
        pending=pending,
        candidates=candidates,
        table_rows=None if rows is None else len(rows),
        off_grid=None if rows is None else rows.off_grid,
        below_floor=None if rows is None else passed_over,
        faster_lacking=lacking,
    )
