"""A command's options are declared on its job record: the CLI is generated from the fields and
builds the record back by field name, never by position."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from cnnpc.cli._common import add_record, record_from
from cnnpc.cli._main import build_parser
from cnnpc.jobs import (
    OPTION,
    CompressJob,
    DeployJob,
    Exclusive,
    SearchRequest,
    option,
    options,
    positive_int,
)
from cnnpc.planner import LinkOptions


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_python_users_read_the_options_help():
    meta = {
        f.name: f.metadata[OPTION] for f in dataclasses.fields(DeployJob) if OPTION in f.metadata
    }
    assert meta["out"].flags == ("--out",) and meta["out"].help == "plan folder to write"
    assert meta["search_id"].key("search_id") == "search"  # the positional SEARCH
    assert meta["upload_rate"].required is False and meta["out"].required is True


def test_records_are_built_by_field_name():
    job = record_from(
        DeployJob,
        _args("deploy", "cnnpc-7", "--out", "p", "--hysteresis", "0.2", "--storage", "sqlite://"),
        progress=True,
    )
    assert (job.search_id, job.out, job.hysteresis) == (7, Path("p"), 0.2)
    assert job.options.storage_url == "sqlite://" and job.options.progress is True
    compress = record_from(CompressJob, _args("compress", "--model", "m", "--keep", "b=1",
                                              "--no-cache", "--seed", "3"))  # fmt: skip
    assert compress.use_cache is False and compress.seed == 3 and compress.keep == {"b": 1.0}


def test_nested_records_build_the_stage_records():
    args = _args("search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "5",
                 "--latency-budget", "40", "--uplink", "7",
                 "--prune-compute", "linear")  # fmt: skip
    request = record_from(SearchRequest, args)
    assert request.links.link_options() == LinkOptions(uplink_mbps=7.0, prune_compute="linear")
    assert request.latency_budget == 40.0 and request.acc_floor is None


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Inner:
    rate: float = option("--rate", default=1.0, type=float, help="r")


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Record:
    name: str = option(help="positional")
    count: int = option("--count", type=positive_int, help="required")
    added_later: bool = option("--later", action="store_true", help="a field added in the middle")
    inner: _Inner = options(_Inner)
    one: str | None = option("--one", default=None, exclusive=Exclusive("g", required=True))
    two: str | None = option("--two", default=None, exclusive=Exclusive("g", required=True))
    extra: int = 0


def test_builder_and_record_round_trip():
    parser = argparse.ArgumentParser(prog="t")
    add_record(parser, _Record)
    rec = record_from(_Record, parser.parse_args(["x", "--count", "2", "--two", "b"]), extra=5)
    assert rec == _Record(name="x", count=2, inner=_Inner(), two="b", extra=5)
    rec = record_from(_Record, parser.parse_args(["x", "--count", "2", "--one", "a", "--later"]))
    assert rec.added_later is True and rec.count == 2 and rec.one == "a"
    for argv in (["x", "--one", "a"], ["x", "--count", "0", "--one", "a"], ["x", "--count", "1"]):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
