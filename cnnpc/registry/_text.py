"""The text of `cnnpc models`: what was added, the list, one model's candidates."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from cnnpc._text import format_table
from cnnpc.catalog import list_models
from cnnpc.errors import InputError
from cnnpc.registry._describe import ModelReport, devices_of


def parse_candidates(text: str | None) -> list[str] | None:
    """`--candidates LAYER,LAYER,...` (None: the analysis picks them)."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise InputError("--candidates: an empty layer name (use LAYER,LAYER,...)")
    return names


def added_text(report: ModelReport, seconds: float) -> str:
    """What `cnnpc models add` says: the cut points, the candidates, what to run next."""
    entry, name = report.entry, report.entry.name
    lines = [
        f"added {name}: {entry.layers} layers, {entry.cut_points} single-tensor cut points, "
        f"{len(report.candidates)} split candidates ({report.prunable} prunable), analysed in "
        f"{seconds:.2f} s",
        f"folder: {entry.folder}",
    ]
    lines += [
        f"warning: {c.name} is a split point but cannot be pruned: {c.reason}"
        for c in report.candidates
        if not c.prunable
    ]
    lines.append(
        f"next: cnnpc profile --model {name} --device host   (latency tables), then "
        f"cnnpc search --model {name} --device host ..."
    )
    return "\n".join(lines)


def models_document() -> dict[str, Any]:
    """`cnnpc models list --json`: every model with the devices profiled for it."""
    rows = [{**asdict(e), "devices": list(devices_of(e.name))} for e in list_models()]
    return {"models": rows}


def models_text(document: dict[str, Any]) -> str:
    """`cnnpc models list`."""
    table = [
        [m["name"], m["kind"], m["input_size"], ", ".join(m["devices"]) or "-", m["description"]]
        for m in document["models"]
    ]
    return format_table(["model", "kind", "input", "devices", "description"], table)


def model_text(report: ModelReport) -> str:
    """`cnnpc models show`: one model's entry and its candidates."""
    entry = report.entry
    rows = [
        [
            c.name,
            c.layer,
            c.shape,
            "yes" if c.prunable else f"no: {c.reason}",
            ", ".join(c.tied_with) or "-",
        ]
        for c in report.candidates
    ]
    return "\n".join(
        [
            f"{entry.name} ({entry.kind}): {entry.description}",
            f"folder: {entry.folder}",
            f"devices: {', '.join(report.devices) or 'none yet (cnnpc profile)'}",
            format_table(["candidate", "layer", "tensor", "prunable", "tied with"], rows),
        ]
    )
