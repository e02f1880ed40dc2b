"""Accuracy tables: export the shared cache as CSV, import one, search on one without training.

export_table(storage, "mobilenet", "acc.csv")      # every measured configuration
import_table(storage, "acc.csv")                   # validated, all rows or none
TableSource(read_table("acc.csv"))                 # a search's accuracies, never fine-tuned
"""

from __future__ import annotations

from cnnpc.accuracy._exchange import (
    ExportedTable,
    ImportedTable,
    cache_entries,
    export_table,
    import_table,
)
from cnnpc.accuracy._source import TableSource, preload
from cnnpc.accuracy._spec import (
    AccuracySpec,
    confirming_source,
    parse_accuracy,
    supernet_use,
    table_use,
)
from cnnpc.accuracy._table import (
    COLUMNS,
    AccuracyTable,
    TableRow,
    format_table,
    kept_of,
    read_table,
)

__all__ = [
    "COLUMNS",
    "AccuracySpec",
    "AccuracyTable",
    "ExportedTable",
    "ImportedTable",
    "TableRow",
    "TableSource",
    "cache_entries",
    "confirming_source",
    "export_table",
    "format_table",
    "import_table",
    "kept_of",
    "parse_accuracy",
    "preload",
    "read_table",
    "supernet_use",
    "table_use",
]
