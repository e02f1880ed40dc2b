"""A plan's layout in words: which tier runs which part of the network.

One wording for the workbook, `cnnpc show`, the PNG and the Optuna trial attributes: the
layout (the channels a pruned candidate keeps: `records.KeepConfig.channels_text`).
"""

from __future__ import annotations

from collections.abc import Sequence

TIERS_OF_MODE = {
    "end_only": ("end",),
    "edge_only": ("edge",),
    "cloud_only": ("cloud",),
    "end_edge": ("end", "edge"),
    "end_cloud": ("end", "cloud"),
    "edge_cloud": ("edge", "cloud"),
    "end_edge_cloud": ("end", "edge", "cloud"),
}
ARROW = " \u2192 "


def layout_text(mode: str | None, splits: Sequence[str]) -> str:
    """'end: input..block6 → edge: ..block13 → cloud: rest' (a split names the last block
    the tier before it runs)."""
    tiers = TIERS_OF_MODE.get(mode or "")
    if tiers is None or len(splits) != len(tiers) - 1:
        return f"{mode or '-'} (splits: {', '.join(splits) or 'none'})"
    if len(tiers) == 1:
        relay = " (input relayed by the edge)" if mode == "cloud_only" else ""
        return f"{tiers[0]}: everything{relay}"
    parts = [
        f"{tier}: {'input' if i == 0 else ''}..{splits[i]}" for i, tier in enumerate(tiers[:-1])
    ]
    parts.append(f"{tiers[-1]}: rest")
    relay = " (relayed by the edge)" if mode == "end_cloud" else ""
    return ARROW.join(parts) + relay
