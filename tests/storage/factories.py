"""Build searches and trials with known values through the public Storage API (no TF).

`populate` writes one search whose spend, best trial and Pareto front are known by hand:

    trial  state     latency  val acc  feasible  fine-tuned
    0      complete  50       0.91     yes       3.0 s
    1      complete  40       0.90     yes       2.5 s
    2      complete  30       0.85     no        2.0 s
    3      pruned    35       -        no        (predicted 0.80)
    4      complete  45       0.93     yes       cache hit
    5      failed    -        -        -
    6      complete  40       0.90     yes       cache hit (same configuration as 1)
    7      running   20       -        -

acc_floor 0.896: best = trial 1; Pareto front = trials 2, 1, 4; 3 fine-tunes, 7.5 s.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cnnpc.latency import Breakdown
from cnnpc.records import LinkSetting
from cnnpc.storage import (
    Baselines,
    BestPlan,
    SearchRecord,
    SearchSpec,
    Storage,
    Tiers,
    TrialInput,
)

LINK_FIELDS = tuple(LinkSetting.__dataclass_fields__)
T0 = datetime(2025, 11, 24, 12, 0, 0, tzinfo=UTC)


def spec(**overrides: Any) -> SearchSpec:
    """A search spec; link fields (`uplink_mbps=`, `latency_ms=`, ...) build its `links`."""
    link_values = {"uplink_mbps": 20.0, "bandwidth_mbps": 10.0}
    link_values.update({k: overrides.pop(k) for k in LINK_FIELDS if k in overrides})
    values: dict[str, Any] = {
        "model": "mobilenet",
        "device": "MI8",
        "workload": "digits",
        "links": LinkSetting(**link_values),
        "mode": "acc_floor",
        "target": 0.896,
        "strategy": "tpe",
        "seed": 0,
        "budget_key": "epochs=2",
        "code_version": "0.1.0",
        "extra": {"conventions": "si"},
        "epochs": 2,
    }
    values.update(overrides)
    return SearchSpec(**values)


def plan(latency: float, *, mode: str = "end_edge", splits: Sequence[str] = ("block10",)) -> dict:
    """A planner-shaped plan whose breakdown adds up to `latency`."""
    end = round(latency * 0.6, 6)
    uplink = round(latency * 0.1, 6)
    overhead = 1.66
    edge = latency - end - uplink - overhead
    return {
        "latency_ms": latency,
        "mode": mode,
        "splits": list(splits),
        "traffic_bytes": 1024.0 * latency,
        "breakdown": {
            "end_ms": end,
            "uplink_ms": uplink,
            "edge_ms": edge,
            "downlink_ms": 0.0,
            "cloud_ms": 0.0,
            "overhead_ms": overhead,
            "total_ms": latency,
        },
    }


TIERS = Tiers(("conv1", "block1", "block10"), ("block11",), ())


def best_plan(
    number: int,
    latency: float,
    *,
    splits: Sequence[str] = ("block10",),
    tiers: Tiers = TIERS,
    keep: dict[str, float] | None = None,
    single_tier_ms: float = 80.0,
    finetunes: int = 3,
) -> BestPlan:
    """A search's best plan (`plan(latency)`'s costs) whose speedup over one tier is known."""
    costs = plan(latency, splits=splits)
    parts = {k: v for k, v in costs["breakdown"].items() if k != "total_ms"}
    return BestPlan(
        trial=number,
        mode=costs["mode"],
        splits=tuple(splits),
        keep={"block1": 0.5} if keep is None else keep,
        tiers=tiers,
        latency_ms=latency,
        breakdown=Breakdown(**parts, uplink_bytes=costs["traffic_bytes"], downlink_bytes=0.0),
        traffic_bytes=costs["traffic_bytes"],
        val_accuracy=0.90,
        test_accuracy=0.89,
        baselines=Baselines(
            uncompressed_latency_ms=1.5 * latency,
            uncompressed_traffic_bytes=2.0 * costs["traffic_bytes"],
            single_tier="cloud_only",
            single_tier_latency_ms=single_tier_ms,
        ),
        finetunes=finetunes,
    )


def trial(
    number: int,
    latency: float | None,
    acc: float | None,
    *,
    state: str = "complete",
    feasible: bool | None = None,
    finetune_seconds: float | None = None,
    keep: dict[str, float] | None = None,
    **extra: Any,
) -> TrialInput:
    started = T0 + timedelta(minutes=number)
    return TrialInput(
        optuna_number=number,
        keep=keep if keep is not None else {"block1": 1.0, "block6": 0.5 + number / 100},
        plan=None if latency is None else plan(latency),
        state=state,
        started_at=started,
        finished_at=None if state == "running" else started + timedelta(seconds=30),
        val_accuracy=acc,
        test_accuracy=None if acc is None else acc - 0.01,
        feasible=feasible,
        finetune_seconds=finetune_seconds,
        finetuned=finetune_seconds is not None,
        **extra,
    )


def populate(storage: Storage, **spec_overrides: Any) -> SearchRecord:
    search = storage.get_or_create_search(spec(**spec_overrides))
    for record in (
        trial(0, 50.0, 0.91, feasible=True, finetune_seconds=3.0),
        trial(1, 40.0, 0.90, feasible=True, finetune_seconds=2.5, keep={"block1": 0.5}),
        trial(2, 30.0, 0.85, feasible=False, finetune_seconds=2.0),
        trial(
            3,
            35.0,
            None,
            state="pruned",
            feasible=False,
            predicted_accuracy=0.80,
            reason="surrogate: predicted 0.800 < floor 0.896",
        ),
        trial(4, 45.0, 0.93, feasible=True),
        trial(5, None, None, state="failed", reason="fine-tune crashed"),
        trial(6, 40.0, 0.90, feasible=True, keep={"block1": 0.5}),
        trial(7, 20.0, None, state="running"),
    ):
        storage.record_trial(search.id, record)
    storage.set_best_plan(search.id, best_plan(1, 40.0))  # 2x the best single tier (80 ms)
    return search


def patched_main(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], int]:
    """`cnnpc.cli.main` with the storage commands registered (whether or not _main lists them)."""
    from cnnpc.cli import _browse, _db, _export, _main

    original = _main.build_parser

    def build() -> argparse.ArgumentParser:
        parser = original()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        for module, command in ((_db, "db"), (_browse, "searches"), (_export, "export")):
            if command not in sub.choices:
                module.register(sub)
        return parser

    monkeypatch.setattr(_main, "build_parser", build)
    return _main.main
