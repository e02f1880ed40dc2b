"""An accuracy's provenance has one JSON form: the `details` earlier releases stored."""

from __future__ import annotations

import pytest

from cnnpc.records import CandidateBytes, Origin, OriginKind

OLD_TABLE = {"source": "table", "file": "acc.csv", "row": 3}
OLD_SUPERNET = {"source": "supernet", "kept": {"block1": 8, "conv1": 16}, "supernet": "ab12"}
OLD_FINETUNE = {
    "keep": {"block1": 0.5, "conv1": 1.0},
    "candidates": [{"name": "block1", "channels": 8, "bytes": 2048}],
}


@pytest.mark.parametrize(
    ("stored", "origin"),
    [
        (OLD_TABLE, Origin.table("acc.csv", 3)),
        (OLD_SUPERNET, Origin.estimate("ab12", {"block1": 8, "conv1": 16})),
        (
            OLD_FINETUNE,
            Origin.finetuned({"block1": 0.5, "conv1": 1.0}, (CandidateBytes("block1", 8, 2048),)),
        ),
        ({}, Origin()),
    ],
)
def test_the_stored_json_reads_back_and_is_written_unchanged(stored, origin):
    assert Origin.from_json(stored) == origin
    assert origin.to_json() == stored


def test_each_kind_sets_its_fields():
    assert Origin.table("acc.csv", 3).kind is OriginKind.TABLE
    estimate = Origin.estimate("ab12", {"block1": 8})
    assert (estimate.kind, estimate.supernet, estimate.kept) == (
        OriginKind.SUPERNET,
        "ab12",
        (("block1", 8),),
    )
    tuned = Origin.finetuned({"b": 1}, ())
    assert tuned.kind is OriginKind.FINETUNE and tuned.keep == (("b", 1.0),)
    assert isinstance(tuned.keep[0][1], float)


@pytest.mark.parametrize(
    "stored",
    [
        None,
        [1, 2],
        {"synthetic": True},
        {"epochs": 2, "history": [0.5, 0.9]},
        {"source": "table", "file": "acc.csv"},  # no row
        {"source": "table", "file": "acc.csv", "row": True},
        {"source": "supernet", "kept": {"b": "x"}, "supernet": "k"},
        {"keep": {"b": 0.5}, "candidates": [{"name": "b"}]},
        {"keep": {"b": 0.5}, "candidates": [], "more": 1},
    ],
)
def test_a_form_it_cannot_read_loads_as_unstated(stored):
    assert Origin.from_json(stored) == Origin()
    assert Origin.from_json(stored).kind is OriginKind.UNSTATED
