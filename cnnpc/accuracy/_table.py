"""Accuracy tables: measured configurations as CSV, read back with every row validated.

One row per configuration, its pruning given as kept channel counts so that a table means the
same on any keep grid:

    model,workload,budget_key,kept_channels,val_accuracy,test_accuracy,finetune_seconds
    mobilenet,digits,"epochs=3,seed=0,id=...",,0.9611,0.9583,41.2
    mobilenet,digits,"epochs=3,seed=0,id=...",block6=16;block10=8,0.9306,0.9250,35.0

`kept_channels` lists `candidate=count` pairs (count in 1..C) separated by ';'; empty means the
unpruned model. A table holds one model, one workload and one fine-tune budget.

An optional `bits` column gives the codec's bit widths the row was fine-tuned with, as
`split=N` pairs (N in 1..8) separated by ';' (``block1=4;block13=2``); a split not named, an
empty cell, or a table without the column means 8 bits (the int8 tensor). A table is written with
the column only when a row has bits below 8, so int8-only tables stay what they were.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cnnpc.codec import SplitBits, format_split_bits, parse_split_bits
from cnnpc.errors import CnnpcError, InputError
from cnnpc.profiles import read_csv_rows
from cnnpc.records import KeepConfig
from cnnpc.spaces import SearchSpace, kept_count, load_space

COLUMNS = (
    "model",
    "workload",
    "budget_key",
    "kept_channels",
    "val_accuracy",
    "test_accuracy",
    "finetune_seconds",
)
BITS = "bits"
"""The optional column of the codec's bit widths per split."""
Kept = tuple[tuple[str, int], ...]
"""Pruned candidates and their kept channels, sorted by name (unpruned ones absent)."""


@dataclass(frozen=True)
class TableRow:
    kept: Kept
    val_accuracy: float
    test_accuracy: float | None
    finetune_seconds: float | None
    row: int
    """Data row number in the file, from 1."""
    bits: SplitBits = ()
    """Splits fine-tuned through the codec below 8 bits (empty: int8 everywhere)."""

    def config(self, space: SearchSpace) -> dict[str, float]:
        """The configuration as keep fractions c/C (the search's configuration type)."""
        channels = {c.name: c.channels for c in space.candidates}
        return {name: count / channels[name] for name, count in self.kept}


@dataclass(frozen=True)
class AccuracyTable:
    path: str
    model: str
    workload: str
    budget_key: str
    rows: tuple[TableRow, ...]

    @property
    def digest(self) -> str:
        """Content hash: a search on an edited table is another search."""
        h = hashlib.sha256(f"{self.model}|{self.workload}|{self.budget_key}".encode())
        for r in sorted(self.rows, key=lambda r: (r.kept, r.bits)):
            bits = f"@{r.bits}" if r.bits else ""  # int8 rows hash as before bits existed
            h.update(f"|{r.kept}{bits}={r.val_accuracy!r},{r.test_accuracy!r}".encode())
        return h.hexdigest()[:16]

    def by_kept(self) -> dict[Kept, TableRow]:
        """The int8 rows (8 bits at every split) by configuration."""
        return {r.kept: r for r in self.rows if not r.bits}

    def by_config(self) -> dict[tuple[Kept, SplitBits], TableRow]:
        """Every row by configuration and bit widths."""
        return {(r.kept, r.bits): r for r in self.rows}


def kept_of(space: SearchSpace, config: Mapping[str, float]) -> Kept:
    """A configuration's kept channels (the rule the surgery and the latency model share)."""
    items = []
    for name, fraction in config.items():
        channels = space.candidates[space.index(name)].channels
        count = kept_count(fraction, channels)
        if count < channels:
            items.append((name, count))
    return tuple(sorted(items))


def _fail(label: str, row: int, column: str, problem: str) -> InputError:
    return InputError(f"{label}: row {row}, column {column}: {problem}")


def _parse_kept(label: str, row: int, text: str, space: SearchSpace) -> Kept:
    try:
        keep = KeepConfig.from_row(space, text)
    except CnnpcError as exc:
        raise _fail(label, row, "kept_channels", str(exc)) from None
    return tuple(sorted((b.name, round(b.fraction * b.channels)) for b in keep.pruned_blocks))


def _parse_bits(label: str, row: int, text: str, space: SearchSpace) -> SplitBits:
    try:
        return parse_split_bits(text, space.names)
    except CnnpcError as exc:
        raise _fail(label, row, BITS, str(exc)) from None


def _fraction(label: str, row: int, column: str, text: str, *, optional: bool) -> float | None:
    if optional and not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    hi = math.inf if column == "finetune_seconds" else 1.0
    if not math.isfinite(value) or not 0.0 <= value <= hi:
        want = "a number >= 0" if column == "finetune_seconds" else "an accuracy in [0, 1]"
        raise _fail(label, row, column, f"must be {want}, got {text!r}")
    return value


def _required(label: str, row: int, text: str) -> float:
    value = _fraction(label, row, "val_accuracy", text, optional=False)
    assert value is not None
    return value


def read_table(
    path: str | Path, *, model: str | None = None, workload: str | None = None
) -> AccuracyTable:
    """Read and validate every row (errors name file, row and column); nothing is kept on error.

    `model` / `workload`: what the table must be for (a search's model, say).
    """
    label = str(path)
    raw = read_csv_rows(Path(path), label, COLUMNS)
    first = raw[0]
    want_model = model if model is not None else first["model"].strip()
    want_workload = workload if workload is not None else first["workload"].strip()
    budget = first["budget_key"].strip()
    if not want_model:
        raise _fail(label, 1, "model", "must name the model")
    try:
        space = load_space(want_model)
    except CnnpcError as exc:
        raise _fail(label, 1, "model", str(exc)) from None
    rows: dict[tuple[Kept, SplitBits], TableRow] = {}
    for i, r in enumerate(raw, start=1):
        for column, want in (
            ("model", want_model),
            ("workload", want_workload),
            ("budget_key", budget),
        ):
            if r[column].strip() != want:
                raise _fail(
                    label,
                    i,
                    column,
                    f"{r[column].strip()!r}, but the table is for {want!r}"
                    " (one model, workload and fine-tune budget per table)",
                )
        parsed = TableRow(
            kept=_parse_kept(label, i, r["kept_channels"], space),
            val_accuracy=_required(label, i, r["val_accuracy"]),
            test_accuracy=_fraction(label, i, "test_accuracy", r["test_accuracy"], optional=True),
            finetune_seconds=_fraction(
                label, i, "finetune_seconds", r["finetune_seconds"], optional=True
            ),
            row=i,
            bits=_parse_bits(label, i, r.get(BITS, ""), space),
        )
        seen = rows.get((parsed.kept, parsed.bits))
        if seen is not None:
            if (seen.val_accuracy, seen.test_accuracy) != (
                parsed.val_accuracy,
                parsed.test_accuracy,
            ):
                raise _fail(
                    label,
                    i,
                    "val_accuracy",
                    f"row {seen.row} has the same configuration with another accuracy",
                )
            continue
        rows[(parsed.kept, parsed.bits)] = parsed
    if not want_workload:
        raise _fail(label, 1, "workload", "must name the workload")
    return AccuracyTable(label, want_model, want_workload, budget, tuple(rows.values()))


def _text(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def format_table(model: str, workload: str, budget_key: str, rows: Sequence[TableRow]) -> str:
    """CSV text of a table (see the module docstring)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    with_bits = any(r.bits for r in rows)
    writer.writerow((*COLUMNS, BITS) if with_bits else COLUMNS)
    for r in sorted(rows, key=lambda r: (len(r.kept), r.kept, r.bits)):
        cells = [
            model,
            workload,
            budget_key,
            ";".join(f"{n}={c}" for n, c in r.kept),
            _text(r.val_accuracy),
            _text(r.test_accuracy),
            _text(r.finetune_seconds),
        ]
        writer.writerow([*cells, format_split_bits(r.bits)] if with_bits else cells)
    return out.getvalue()
