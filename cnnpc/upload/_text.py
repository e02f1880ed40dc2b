"""The text of `cnnpc upload`, in the library beside the report it renders."""

from __future__ import annotations

from typing import Any

from cnnpc._text import format_table


def upload_plan_text(d: dict[str, Any]) -> str:
    """The text of `cnnpc upload`: the order of the parts and what each step buys."""
    lines: list[str] = []
    mb = 1e6
    lines.append(
        f"{d['model']} on {d['device']}: upload {d['upload_mbps']:g} Mbps, "
        f"{d['total_bytes'] / mb:.2f} MB of parameters ({d['param_bytes']:g} B each), "
        f"{d['query_rate']:g} queries/s, tiers {d['tiers']}"
    )
    init, full = d["initial"], d["full"]
    lines.append(
        f"before any upload: {init['latency_ms']:.2f} ms ({init['mode']}); whole model on the "
        f"edge: {full['latency_ms']:.2f} ms ({full['mode']})"
    )
    rows = [[0, "-", 0.0, 0.0, 0.0, init["latency_ms"], init["mode"]]]
    for s in d["steps"]:
        rows.append(
            [
                s["step"],
                "+".join(s["segments"]),
                s["bytes"] / mb,
                s["cumulative_bytes"] / mb,
                s["done_s"],
                s["latency_ms"],
                s["mode"],
            ]
        )
    lines.append(
        format_table(
            ["step", "parts uploaded", "MB", "total MB", "done at s", "latency ms", "mode"], rows
        )
    )
    c = d["comparison"]
    unneeded = (
        f"; {d['unneeded_bytes'] / mb:.2f} MB never need uploading (no query gets faster)"
        if d["unneeded_bytes"] > 0
        else ""
    )
    lines.append(
        f"\nfull benefit after {d['full_benefit_s']:.2f} s (whole model: "
        f"{d['whole_upload_s']:.2f} s){unneeded}"
    )
    lines.append(
        f"{c['queries']} queries during the whole model's upload: mean latency "
        f"{c['incremental_mean_ms']:.2f} ms incremental vs {c['whole_first_mean_ms']:.2f} ms "
        f"whole-model-first; {c['saved_s']:.2f} s of query latency saved ({c['saved_pct']:.1f} %)"
    )
    return "\n".join(lines)
