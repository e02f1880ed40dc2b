"""An accuracy table's rows as a search's configurations: the space a search on a table draws from.

A table says which configurations have an accuracy; anything else can only be recorded as
unmeasured. So on a table exhaustive and cnnpc draw from its rows (plus the unpruned model), and
exhaustive prices every row with the exact planner instead of walking the whole grid: N rows,
at most N trials, and the exact optimum over them. A row is a
configuration of the search when each pruned candidate's kept count is a point of the search's keep
grid: on the per-channel grid every row is; on a fraction grid a row such as ``block6=17`` (of 32)
is not, and is counted as off the grid (it belongs to a search on ``--keep-grid channels``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cnnpc.planner import Planner
from cnnpc.records import KeepConfig, keep_key
from cnnpc.search._configs import Config, expand, normalise, parameters, split_aware_grid
from cnnpc.search._objective import SearchObjective
from cnnpc.search._summary import Exactness
from cnnpc.spaces import SearchSpace, kept_count


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
    return config


def table_rows(space: SearchSpace, rows: Iterable[KeepConfig]) -> TableRows:
    """The rows that are configurations of `space`'s grid, and how many are not."""
    configs: dict[str, Config] = {keep_key({}): {}}
    off_grid = 0
    for row in rows:
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
    planner: Planner, rows: TableRows, latency_ms: float, objective: SearchObjective | None = None
) -> int:
    """Configurations of the grid faster than `latency_ms` that the table has no row for
    (counted, by pricing every split-aware configuration once: about 4 s for the 66,887 of
    mobilenet's channel grid). Each counts once, reduced to the pruning its plan needs, as a
    search on the grid would try it."""
    goal = objective or SearchObjective()
    lacking: set[str] = set()
    for config in split_aware_grid(planner.profile.space):
        if goal.price(planner, config) >= latency_ms:
            continue
        key = keep_key(normalise(planner, config, objective=objective)[0])
        if key not in rows:
            lacking.add(key)
    return len(lacking)


def drawn_rows(
    strategy: str, rows: tuple[KeepConfig, ...] | None, space: SearchSpace
) -> TableRows | None:
    """The table's rows when the strategy draws from them: exhaustive and cnnpc propose only
    rows (tpe and random sample the grid, as before: a sample the table lacks is unmeasured)."""
    if rows is None or strategy not in ("exhaustive", "cnnpc"):
        return None
    return table_rows(space, rows)


def exactness(
    planner: Planner,
    pending: int,
    candidates: int,
    rows: TableRows | None,
    best: float | None,
    passed_over: int | None,
    objective: SearchObjective | None = None,
) -> Exactness:
    """An exhaustive walk's proof: proven when nothing that could beat its answer is `pending`;
    on a table, with the faster grid configurations it lacks (`best`: the answer's latency under
    an accuracy floor; None: no answer, or a latency budget, where nothing is counted) and the
    rows it read below the floor (`passed_over`; None under a latency budget)."""
    lacking = (
        None if rows is None or best is None else faster_lacking(planner, rows, best, objective)
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
