"""Where a search's accuracies come from, named once: fine-tuning, a supernet's estimates
(confirmed by fine-tuning) or only a table. The search, the sweep and the CLI share this one
factory, so a new source is added here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from cnnpc._files import check_input_file
from cnnpc.errors import InputError

if TYPE_CHECKING:
    from cnnpc.accuracy._source import TableSource
    from cnnpc.search import AccuracySource, OracleSource

Kind = Literal["finetune", "supernet", "table"]
TABLE_PREFIX = "table:"


def parse_accuracy(text: str) -> str:
    """The `--accuracy` value, checked: 'finetune', 'supernet' or 'table:FILE'."""
    if text in ("finetune", "supernet") or (
        text.startswith(TABLE_PREFIX) and len(text) > len(TABLE_PREFIX)
    ):
        return text
    raise InputError(f"--accuracy takes 'finetune', 'supernet' or 'table:FILE', got {text!r}")


@dataclass(frozen=True)
class AccuracySpec:
    """A source of accuracies as the user asked for it (`--accuracy` and the fine-tune options)."""

    model: str
    accuracy: str = "finetune"
    """'finetune', 'supernet' or 'table:FILE' (see parse_accuracy)."""
    epochs: int | None = None
    seed: int = 0
    data: str | None = None
    weights: str | None = None

    def __post_init__(self) -> None:
        parse_accuracy(self.accuracy)

    @property
    def kind(self) -> Kind:
        if self.accuracy.startswith(TABLE_PREFIX):
            return "table"
        return "supernet" if self.accuracy == "supernet" else "finetune"

    @property
    def table_file(self) -> str | None:
        """The file of 'table:FILE' (None: accuracies are fine-tuned or estimated)."""
        return self.accuracy[len(TABLE_PREFIX) :] if self.kind == "table" else None

    @property
    def confirms(self) -> bool:
        """Whether a search on it ranks on estimates and answers with fine-tunes."""
        return self.kind == "supernet"

    def check(self, *, whole_table: bool = False) -> TableSource | None:
        """Refuse a bad --data folder, a missing --weights file or a bad accuracy table before a
        database is created; the table's source (read and checked once), or None.
        `whole_table`: the sweep's cache cell, which holds every row."""
        table_file = self.table_file
        if table_file is not None:
            from cnnpc.accuracy._source import TableSource
            from cnnpc.accuracy._table import read_table

            options = (
                ("--epochs", self.epochs),
                ("--data", self.data),
                ("--weights", self.weights),
            )
            given = [o for o, v in options if v is not None]
            if given:
                raise InputError(
                    f"{', '.join(given)} choose how to fine-tune; --accuracy table:FILE never does"
                )
            return TableSource(read_table(table_file, model=self.model), whole=whole_table)
        if self.data is not None:
            from cnnpc.workloads import check_image_folder

            check_image_folder(self.data)
        if self.weights is not None:
            check_input_file(self.weights, f"--weights {self.weights}")
        if self.kind == "supernet":
            from cnnpc import supernet

            supernet.check_supernet(self.model)
        return None

    def open(self, checked: TableSource | None = None) -> AccuracySource:
        """The source: the table source `check` returned (`checked`), or one that fine-tunes
        (built here: it may train the baseline, so only once the inputs are known good and the
        database is open)."""
        if checked is not None:
            return checked
        if self.kind == "table":
            table = self.check()
            assert table is not None
            return table
        if self.kind == "supernet":
            from cnnpc import supernet

            return supernet.supernet_source(self.finetuning())
        return self.finetuning()

    def finetuning(self, *, progress: bool = True, finetune_progress: bool = False) -> OracleSource:
        """The source that fine-tunes this model on these data, weights, budget and seed: what
        'finetune' opens, and what deploy rebuilds a stored search's models with."""
        from cnnpc.search import oracle_source

        return oracle_source(
            self.model,
            epochs=self.epochs,
            seed=self.seed,
            data=self.data,
            weights=self.weights,
            progress=progress,
            finetune_progress=finetune_progress,
        )


def confirming_source(source: AccuracySource) -> AccuracySource:
    """The fine-tuning source that confirms what a source of estimates ranks first."""
    finetune = source.confirms_with
    if finetune is None:
        raise TypeError(f"{type(source).__name__} has no fine-tuning source to confirm with")
    return finetune


def table_use(source: AccuracySource) -> dict[str, object] | None:
    """What a search asked of an accuracy table (None: the source is not a table)."""
    from cnnpc.accuracy._source import TableSource

    if source.table_file is None or not isinstance(source, TableSource):
        return None
    return {"file": source.table_file, "asked": source.asked, "unmeasured": source.missing}


def supernet_use(source: AccuracySource) -> dict[str, object] | None:
    """How many estimates a supernet source gave, and which supernet (None: not a supernet)."""
    from cnnpc.supernet import SupernetSource

    if not isinstance(source, SupernetSource):
        return None
    return {"estimates": source.estimates, "supernet": source.supernet.key}
