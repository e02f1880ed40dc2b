"""The text of `cnnpc profile` and `cnnpc profile import`, in the library with the reports."""

from __future__ import annotations

from typing import Any

from cnnpc._text import format_table


def _segment_table(segments: list[dict[str, Any]]) -> str:
    rows = [[s["segment"], s["name"], s["end_ms"], s["edge_ms"], s["cloud_ms"]] for s in segments]
    return format_table(["segment", "name", "end ms", "edge ms", "cloud ms"], rows)


def _ms4(value: float) -> str:
    return f"{value:.4f}"


def profile_text(report: dict[str, Any]) -> str:
    """A host profile's segments and its regressors' held-out error."""
    lines: list[str] = []
    formats = ", ".join(f"{t} {f}" for t, f in report["formats"].items())
    lines.append(
        f"{report['model']} on this machine as {report['device']!r}: "
        f"{report['image_size']}x{report['image_size']} input, TFLite ({formats}), "
        f"{report['threads']} thread(s), median of {report['repeats']}; written to "
        f"{report['folder']}"
    )
    segments = [
        {k: (_ms4(v) if k.endswith("_ms") else v) for k, v in s.items()} for s in report["segments"]
    ]
    lines.append("")
    lines.append(_segment_table(segments))
    heldout = report["regressor"]["heldout"]
    lines.append("")
    kept = ", ".join(f"{k:g}" for k in heldout["heldout_keeps"]) or "none"
    lines.append(f"regressor error on held-out keep fractions ({kept}), per segment:")
    rows: list[list[object]] = []
    for tier, info in heldout["tiers"].items():
        for kind, err in info["kinds"].items():
            mark = "yes" if kind == info["chosen"] else ""
            pct = [err["median_pct"], err["mean_pct"], err["max_pct"]]
            rows.append([tier, kind, *pct, err["n_test"], mark])
    if rows:
        headers = ["tier", "regressor", "median %", "mean %", "max %", "tested", "chosen"]
        lines.append(format_table(headers, rows))
    else:
        lines.append("  (needs at least 3 keep fractions; none held out)")
    return "\n".join(lines)


def import_text(report: dict[str, Any]) -> str:
    """An imported profile's segments (and, from a device, which segments were not timed)."""
    lines: list[str] = []
    lines.append(
        f"imported {report['source']} as {report['model']} on {report['device']!r} into "
        f"{report['folder']}"
    )
    lines.append("")
    lines.append(_segment_table(report["segments"]))
    lines.extend(f"note: {note}" for note in report.get("notes", []))
    return "\n".join(lines)


def power_text(report: dict[str, Any]) -> str:
    """The power figures `cnnpc profile import --power/--radio` wrote."""
    power = report["power"]
    given = [f"{k} {power[k + '_w']:g} W" for k in ("compute", "idle") if k + "_w" in power]
    given += [f"{r['radio']} tx {r['tx_w']:g} W, rx {r['rx_w']:g} W" for r in power["radios"]]
    lines = [
        f"power figures of {report['model']} on {report['device']!r} written to "
        f"{report['file']}: {'; '.join(given)}"
    ]
    if report["missing"]:
        lines.append(f"note: energy needs {', '.join(report['missing'])} too")
    return "\n".join(lines)


def export_text(report: dict[str, Any]) -> str:
    """What `cnnpc profile export` wrote."""
    total = sum(f["bytes"] for f in report["files"])
    return (
        f"exported {len(report['files'])} segment files of {report['model']} "
        f"({report['image_size']}x{report['image_size']}, {report['tier']} tier, "
        f"{report['format']}, {total:,} bytes) to {report['folder']}; see its README.txt"
    )


def device_text(report: dict[str, Any]) -> str:
    """What `cnnpc profile device` timed."""
    rows = [
        [f["segment"], f["name"], f"{f['keep']:g}", _ms4(f["median_ms"]), f["iterations_per_run"]]
        for f in report["files"]
    ]
    table = format_table(["segment", "name", "keep", "median ms", "invokes/run"], rows)
    return (
        f"{report['model']} ({report['tier']} tier) timed by {report['tool']} "
        f"{report['litert_version']}, {report['threads']} thread(s), {report['runs']} runs; "
        f"results in {report['folder']}/results\n\n{table}"
    )
