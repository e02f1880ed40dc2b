"""Accuracy tables with the codec's bit widths per split; a table without them means 8 bits."""

from __future__ import annotations

import pytest

from cnnpc.accuracy import TableRow, TableSource, cache_entries, format_table, read_table
from cnnpc.errors import InputError
from cnnpc.search import Unmeasured

HEAD = "model,workload,budget_key,kept_channels,val_accuracy,test_accuracy,finetune_seconds"
ROWS = [
    "mobilenet,digits,b,,0.96,0.95,",
    "mobilenet,digits,b,block1=2;block13=12,0.93,0.92,40",
]


def _write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_table_without_bits_means_8_bits(tmp_path):
    table = read_table(_write(tmp_path, "\n".join([HEAD, *ROWS]) + "\n"))
    assert all(r.bits == () for r in table.rows)
    assert set(table.by_kept()) == {(), (("block1", 2), ("block13", 12))}
    with_column = read_table(
        _write(tmp_path, "\n".join([HEAD + ",bits", *(r + "," for r in ROWS)]) + "\n", "b.csv")
    )
    assert with_column.rows == tuple(
        TableRow(r.kept, r.val_accuracy, r.test_accuracy, r.finetune_seconds, r.row)
        for r in table.rows
    )
    assert with_column.digest == table.digest
    assert format_table("mobilenet", "digits", "b", table.rows) == format_table(
        "mobilenet", "digits", "b", with_column.rows
    )
    assert "bits" not in format_table("mobilenet", "digits", "b", table.rows).splitlines()[0]


def test_a_table_with_bits(tmp_path):
    lines = [
        HEAD + ",bits",
        ROWS[0] + ",",
        ROWS[1] + ",",
        ROWS[1].replace("0.93,0.92", "0.91,0.90") + ",block1=4;block13=4",
        ROWS[1].replace("0.93,0.92", "0.85,0.84") + ",block13=2;block1=8",
    ]
    table = read_table(_write(tmp_path, "\n".join(lines) + "\n"))
    kept = (("block1", 2), ("block13", 12))
    rows = table.by_config()
    assert rows[(kept, ())].val_accuracy == 0.93
    assert rows[(kept, (("block1", 4), ("block13", 4)))].val_accuracy == 0.91
    assert rows[(kept, (("block13", 2),))].test_accuracy == 0.84  # 8 bits: as if not named
    assert table.by_kept()[kept].val_accuracy == 0.93  # the int8 rows: what a search reads
    assert TableSource(table).measure({"block1": 2 / 16, "block13": 12 / 96}).val_accuracy == 0.93
    lacking = {"block1": 2 / 16, "block13": 12 / 96, "block1@bits": 2.0, "block13@bits": 4.0}
    with pytest.raises(
        Unmeasured, match=r"\(block1=2, block13=12, block1 2 bits, block13 4 bits\)"
    ):
        TableSource(table).measure(lacking)
    text = format_table("mobilenet", "digits", "b", table.rows)
    assert text.splitlines()[0].endswith(",bits")
    again = read_table(_write(tmp_path, text, "again.csv"))
    assert again.by_config().keys() == rows.keys() and again.digest == table.digest
    int8_only = read_table(_write(tmp_path, "\n".join(lines[:3]) + "\n", "int8.csv"))
    assert table.digest != int8_only.digest
    # in the database, a row below 8 bits keys as its configuration does: block1@bits=4
    keys = {e.config_key: e.val_accuracy for e in cache_entries(table)}
    assert keys["block1=0.125,block13=0.125"] == 0.93
    assert keys["block1=0.125,block13=0.125,block13@bits=4,block1@bits=4"] == 0.91
    assert keys["block1=0.125,block13=0.125,block13@bits=2"] == 0.85


@pytest.mark.parametrize(
    "bits, message",
    [
        ("block1=9", "1..8"),
        ("block1=0", "1..8"),
        ("nope=4", "unknown split 'nope'"),
        ("block1=4;block1=2", "twice"),
        ("block1", "split=N"),
        ("block1=x", "split=N"),
    ],
)
def test_bad_bits_name_row_and_column(tmp_path, bits, message):
    text = "\n".join([HEAD + ",bits", ROWS[0] + ",", ROWS[1] + "," + bits]) + "\n"
    with pytest.raises(InputError, match=rf"row 2, column bits: .*{message}"):
        read_table(_write(tmp_path, text))


def test_the_same_row_twice_with_other_bits_is_not_a_conflict(tmp_path):
    lines = [HEAD + ",bits", ROWS[0] + ",", ROWS[1] + ",", ROWS[1] + ",block1=3"]
    assert len(read_table(_write(tmp_path, "\n".join(lines) + "\n")).rows) == 3


def test_rows_below_8_bits_go_through_the_database_and_back(tmp_path):
    from cnnpc.accuracy import export_table, import_table
    from cnnpc.storage import Storage

    lines = [HEAD + ",bits", ROWS[0] + ",", ROWS[1] + ",", ROWS[1] + ",block1=4"]
    lines[3] = lines[3].replace("0.93,0.92", "0.91,0.90")
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with Storage(f"sqlite:///{tmp_path / 'db.sqlite'}") as storage:
        imported = import_table(storage, path)
        assert imported.count.added == 3
        exported = export_table(storage, "mobilenet", tmp_path / "out.csv")
    again = read_table(exported.path)
    assert again.by_config().keys() == read_table(path).by_config().keys()
    kept = (("block1", 2), ("block13", 12))
    assert again.by_config()[(kept, (("block1", 4),))].val_accuracy == 0.91
