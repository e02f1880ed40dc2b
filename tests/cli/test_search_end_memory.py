"""`cnnpc search --end-memory`: a constraint on the layout every trial is priced with, stored with
the search (show and deploy replan under it), and the answer's part sizes in the report."""

from __future__ import annotations

import json

import pytest

from cnnpc.cli import main
from cnnpc.planner import MB, LinkOptions, search_planner
from cnnpc.records import KeepConfig

BASE = ["search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"]


def test_search_keeps_the_end_part_within_the_limit(tmp_path, synthetic, capsys):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    args = [*BASE, "--acc-floor", "0.9", "--trials", "12", "--storage", url, "--json"]
    assert main(args) == 0
    free = json.loads(capsys.readouterr().out)
    assert "parts" not in free["best"] and "end_memory_mb" not in free  # as before
    assert main([*args[:-1], "--end-memory", "0.05", "--json"]) == 0
    limited = json.loads(capsys.readouterr().out)
    assert limited["search_id"] == 2  # another search: its pricing differs
    parts = limited["best"]["parts"]
    assert limited["end_memory_mb"] == 0.05 and parts["end_bytes"] <= 0.05 * MB
    assert main([*args[:-1], "--end-memory", "0.05"]) == 0  # resumes it; text has the parts
    text = capsys.readouterr().out
    assert "parts (int8 weights): end" in text and "(end part limit 0.05 MB)" in text

    from cnnpc.storage import Storage

    stored = Storage(url, create=False).get_search(2)
    options, planner = search_planner(stored)
    assert options.end_memory_mb == 0.05 and planner.end_memory_mb == 0.05
    assert LinkOptions.from_stored(stored.links, stored.extra) == options
    # the answer is the fastest layout of its keep whose end part fits, as `cnnpc plan` finds
    keep = KeepConfig.from_fractions(planner.profile.space, limited["best"]["keep"])
    again = planner.best(keep)
    assert again.latency_ms == pytest.approx(limited["best"]["latency_ms"])
    assert planner.part_sizes(again, keep).as_dict() == parts


@pytest.mark.parametrize("value", ["0", "-1", "inf", "x"])
def test_bad_end_memory_exit_2(value, tmp_path, capsys):
    db = tmp_path / "x.db"
    with pytest.raises(SystemExit) as exc:
        main([*BASE, "--acc-floor", "0.9", "--end-memory", value, "--storage", f"sqlite:///{db}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --end-memory:" in err and err.count("\n") == 1
    assert not db.exists()
