"""PNG of a sweep: latency of the best plan and of each fixed plan against bandwidth.

matplotlib is imported here, inside the function (Agg backend), so `cnnpc --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path

from cnnpc.export import save_png
from cnnpc.sweep._points import BestAt
from cnnpc.sweep._sweep import SweepResult


def plot_sweep(result: SweepResult, path: Path) -> Path:
    """One panel per device; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    devices = list(dict.fromkeys(p.device for p in result.points))
    fig, axes = plt.subplots(
        len(devices), 1, figsize=(8, 4.2 * len(devices)), squeeze=False, sharex=True
    )
    for ax, device in zip(axes[:, 0], devices, strict=True):
        points = [p for p in result.points if p.device == device]
        xs = [p.bandwidth_mbps for p in points]
        for regret in (r for r in result.regrets if r.device == device):
            plan = next(p.best for p in points if p.best and p.best.plan_id == regret.plan_id)
            ys = [regret.alpha_ms + regret.beta_ms_mbps / x for x in xs]
            ax.plot(xs, ys, "--", linewidth=1, label=f"{regret.plan} fixed: {_describe(plan)}")
        best = [p.best.latency_ms if p.best else float("nan") for p in points]
        ax.plot(xs, best, "k-", linewidth=2.2, label="best plan at each bandwidth")
        unpruned = [p.uncompressed_ms for p in points]
        ax.plot(xs, unpruned, ":", color="grey", label="no pruning")
        low = min([y for y in best if y == y] or unpruned)  # fixed plans may soar: clip them
        ax.set_ylim(0.85 * low, 1.35 * max(unpruned + [y for y in best if y == y]))
        for t in (t for t in result.thresholds if t.device == device):
            x = t.crossover_mbps if t.crossover_inside else (t.low_mbps + t.high_mbps) / 2
            ax.axvline(x, color="red", alpha=0.5, linewidth=1)
            ax.annotate(
                f"{t.from_plan}->{t.to_plan}\n{x:.2f} Mbps",
                (x, ax.get_ylim()[0]),
                fontsize=7,
                ha="left",
                va="bottom",
                color="red",
            )
        floor = result.settings.acc_floor
        ax.set_title(f"{result.settings.model} on {device} (accuracy floor {floor:g})")
        ax.set_ylabel("latency (ms)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("edge->cloud bandwidth (Mbps)")
    fig.tight_layout()
    return save_png(fig, Path(path))


def _describe(plan: BestAt) -> str:
    keep = ",".join(f"{k}={v:g}" for k, v in plan.keep.items()) or "no pruning"
    return f"{plan.mode} {'+'.join(plan.splits) or '-'} ({keep})"
