"""An accuracy table as the search's accuracy source: look-ups, never a fine-tune.

A search on a table (`--accuracy table:FILE`) asks the table for each configuration it would
fine-tune; one the table lacks raises `Unmeasured` and the trial is recorded as unmeasured. A
configuration's split tensors below 8 bits (``NAME@bits``) are looked up in the table's `bits`
column; a search without --bits draws only the int8 rows (`cnnpc.search.table_rows`). The
source's cache cell is the table's own (budget key ``table:<content hash>``), so the search's
surrogate learns only what the search asked for, and a real cache is never mixed in. A sweep
needs every row in its cache at once: `preload` puts them in a cell of their own (``...:all``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from cnnpc.accuracy._table import AccuracyTable, kept_of
from cnnpc.codec import split_bits, split_bits_texts
from cnnpc.errors import InputError
from cnnpc.records import KeepConfig, Origin, split_config
from cnnpc.search import Measurement, Unmeasured
from cnnpc.spaces import SearchSpace, load_space
from cnnpc.storage import ImportCount, Storage


class TableSource:
    """Accuracies from an `AccuracyTable`; counts what the search asked for."""

    trains = False
    """No fine-tune happens: trials it answers are not counted as fine-tunes."""
    confirms_with = None
    """A table's accuracies are the answer: nothing here fine-tunes to confirm them."""

    def __init__(
        self, table: AccuracyTable, space: SearchSpace | None = None, *, whole: bool = False
    ) -> None:
        self.table = table
        self.whole = whole
        """The sweep's cell: every row is put in the cache at once (see `preload`)."""
        self.space = space or load_space(table.model)
        self._rows = table.by_config()
        if ((), ()) not in self._rows:
            raise InputError(
                f"{table.path}: no row for the unpruned model (empty kept_channels): a search "
                "needs its accuracy"
            )
        self.asked = 0
        self.missing = 0
        self._configs: tuple[KeepConfig, ...] | None = None

    @property
    def workload(self) -> str:
        return self.table.workload

    @property
    def table_file(self) -> str:
        return self.table.path

    @property
    def table_rows(self) -> tuple[KeepConfig, ...]:
        """Every row's configuration (kept counts as fractions c/C, and the split tensors'
        bit widths below 8): a search's candidates (one without --bits reads the int8 rows)."""
        if self._configs is None:
            self._configs = tuple(
                replace(KeepConfig.from_channels(self.space, dict(kept)), bits=bits)
                for kept, bits in self._rows
            )
        return self._configs

    @property
    def budget_key(self) -> str:
        return f"table:{self.table.digest}" + (":all" if self.whole else "")

    @property
    def epochs(self) -> int | None:
        return None

    def measure(self, config: Mapping[str, float]) -> Measurement:
        self.asked += 1
        fractions, widths = split_config(config)
        kept = kept_of(self.space, fractions)
        bits = split_bits(widths, self.space.names)
        row = self._rows.get((kept, bits))
        if row is None:
            self.missing += 1
            listed = ", ".join([f"{n}={c}" for n, c in kept] + split_bits_texts(bits))
            raise Unmeasured(f"not in the accuracy table {self.table.path} ({listed})")
        return Measurement(
            val_accuracy=row.val_accuracy,
            test_accuracy=row.val_accuracy if row.test_accuracy is None else row.test_accuracy,
            finetune_seconds=0.0,
            params=0,
            flops=0,
            origin=Origin.table(self.table.path, row.row),
        )


def preload(storage: Storage, source: TableSource) -> ImportCount:
    """Put every row of the source's table in its (whole-table) cache cell, in one transaction."""
    from cnnpc.accuracy._exchange import cache_entries

    if not source.whole:
        raise ValueError("preload needs a TableSource(whole=True): a search asks row by row")
    return storage.import_accuracies(cache_entries(source.table, source.budget_key))
