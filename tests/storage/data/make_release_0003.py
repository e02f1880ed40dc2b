"""Made `release_0003.db` and its recorded outputs with the release before the links column
(schema 0003, commit 0685ddf), run once from that release's tree; kept to say how:

    cd <that tree> && PYTHONPATH=$PWD:$PWD/tests/storage python <this file> <out folder>

Two searches through that release's storage API (tests/storage/factories.py): one with both
link latencies and the SI unit, one with CNNPC's unit that confirms another's budget. The
outputs are what that release printed for them (`searches --json`, `show --json`, `export
--json`).
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

from factories import populate

from cnnpc.cli._main import main
from cnnpc.storage import Storage

out = Path(sys.argv[1])
db = out / "release_0003.db"
url = f"sqlite:///{db}"
with Storage(url) as storage:
    populate(
        storage,
        uplink_mbps=20.0,
        bandwidth_mbps=5.0,
        extra={
            "conventions": "si",
            "overhead_ms": 1.66,
            "prune_compute": "none",
            "uplink_latency_ms": 2.0,
            "latency_ms": 5.0,
        },
    )
    populate(
        storage,
        uplink_mbps=8.0,
        bandwidth_mbps=10.0,
        budget_key="epochs=3",
        epochs=3,
        extra={
            "conventions": "cnnpc",
            "overhead_ms": 1.0,
            "prune_compute": "linear",
            "confirms": "epochs=2",
        },
    )
    with storage._engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.exec_driver_sql("PRAGMA journal_mode=DELETE")
        conn.exec_driver_sql("PRAGMA page_size=1024")
        conn.exec_driver_sql("VACUUM")  # a small file to commit


def record(name: str, *argv: str) -> None:
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        assert main([*argv, "--storage", url]) == 0
    (out / name).write_text(text.getvalue())


record("searches.json", "searches", "--json")
for search in (1, 2):
    record(f"show_{search}.json", "show", str(search), "--json")
    with contextlib.redirect_stdout(io.StringIO()):
        assert (
            main(
                [
                    "export",
                    str(search),
                    "--json",
                    str(out / f"export_{search}.json"),
                    "--storage",
                    url,
                ]
            )
            == 0
        )
