"""`cnnpc searches | trials | show | export` as library calls: the stored history, read only.

A missing SQLite file is an error rather than a new empty database (`searches` lists none).
The text, CSV and JSON forms are `cnnpc.export`'s; each call returns what the command prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cnnpc._text import json_text
from cnnpc.errors import InputError
from cnnpc.jobs._options import option, positive_int, search_id, storage_option

if TYPE_CHECKING:
    from cnnpc.storage import Storage

SEARCH_HELP = "search id (see 'searches')"


@dataclass(frozen=True, kw_only=True)
class TrialsQuery:
    """What `cnnpc trials` is asked."""

    search: int = option(type=search_id, metavar="SEARCH", help=SEARCH_HELP)
    feasible: bool = option(
        "--feasible", action="store_true", help="only trials that meet the target"
    )
    sort: str = option(
        "--sort",
        default="number",
        choices=("number", "latency", "accuracy"),
        help="trial number (default), latency ascending or validation accuracy descending",
    )
    limit: int | None = option(
        "--limit", default=None, type=positive_int, metavar="N", help="first N only"
    )
    storage: str | None = storage_option()


@dataclass(frozen=True, kw_only=True)
class ShowQuery:
    """What `cnnpc show` is asked."""

    search: int = option(type=search_id, metavar="SEARCH", help=SEARCH_HELP)
    png: Path | None = option(
        "--png",
        default=None,
        type=Path,
        metavar="FILE",
        help="also draw the Pareto front, the breakdown vs the baselines and the best so far",
    )
    storage: str | None = storage_option()


@dataclass(frozen=True, kw_only=True)
class ExportJob:
    """What `cnnpc export` is asked: a workbook of `searches` and/or one search's plan."""

    searches: Sequence[int] = option(
        type=search_id, nargs="+", metavar="SEARCH", help="search id(s)"
    )
    xlsx: Path | None = option(
        "--xlsx", default=None, type=Path, metavar="FILE", help="write an Excel workbook"
    )
    json: Path | None = option(
        "--json", default=None, type=Path, metavar="FILE", help="write the deployment plan"
    )
    storage: str | None = storage_option()


def _open(storage_url: str | None) -> Storage:
    from cnnpc.storage import Storage, resolve_url

    return Storage(resolve_url(storage_url), create=False)


def searches_output(storage_url: str | None, form: str = "text") -> str:
    """The stored searches as `form` (text, csv or json)."""
    from cnnpc.export import summaries_csv, summaries_text
    from cnnpc.storage import NoDatabaseError, display_url, resolve_url

    try:
        with _open(storage_url) as storage:
            summaries = storage.summaries()
    except NoDatabaseError:
        summaries = []  # nothing searched there yet: an empty list, not an error
    if form == "json":
        return json_text([s.as_dict() for s in summaries])
    if form == "csv":
        return summaries_csv(summaries)
    return summaries_text(summaries, display_url(resolve_url(storage_url))) + "\n"


def trials_output(query: TrialsQuery, form: str = "text") -> str:
    """The trials of one search as `form` (text, csv or json)."""
    from cnnpc.export import trials_csv, trials_text

    with _open(query.storage) as storage:
        trials = storage.list_trials(
            query.search, feasible_only=query.feasible, sort=query.sort, limit=query.limit
        )
    if form == "json":
        return json_text([t.as_dict() for t in trials])
    if form == "csv":
        return trials_csv(trials)
    if not trials:
        return f"search {query.search} has no {'feasible ' if query.feasible else ''}trials yet\n"
    return trials_text(trials) + "\n"


def show_output(query: ShowQuery, as_json: bool = False) -> str:
    """The best plan, Pareto front and spend of one search (and its plot, if asked)."""
    from cnnpc.export import collect, overview, show_json, show_lines, write_search_png

    with _open(query.storage) as storage:
        report = collect(storage, query.search, with_trials=query.png is not None)
    view = overview(report)
    if query.png is not None:
        write_search_png(report, query.png)
    if as_json:
        return json_text(show_json(report, view))
    text = "\n".join(show_lines(report, view)) + "\n"
    return text if query.png is None else text + f"\nwrote {query.png}\n"


def export_searches(job: ExportJob) -> str:
    """Write the workbook and/or plan (all checked and built first); what was written."""
    from cnnpc.export import export
    from cnnpc.storage import Storage, resolve_url

    if job.xlsx is None and job.json is None:
        raise InputError("nothing to do: give --xlsx FILE and/or --json FILE")
    searches = list(dict.fromkeys(job.searches))
    if job.json is not None and len(searches) != 1:
        raise InputError(f"--json exports one search, got {len(searches)} (use --xlsx for several)")
    with Storage(resolve_url(job.storage), create=False) as storage:
        done = export(storage, searches, xlsx=job.xlsx, json_path=job.json)
    lines = []
    if job.xlsx is not None:
        n_trials = sum(len(r.trials) for r in done.reports)
        plural = "" if len(done.reports) == 1 else "es"
        lines.append(f"wrote {job.xlsx} ({len(done.reports)} search{plural}, {n_trials} trials)")
    if done.plan is not None:
        best = done.plan["plan"]
        latency = "-" if best is None else f"{best['latency_ms']:.2f} ms"
        lines.append(f"wrote {job.json} (search {searches[0]}, best plan {latency})")
    return "".join(line + "\n" for line in lines)
