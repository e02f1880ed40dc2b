"""PNG of an upload plan: per-query latency against time, incremental and whole-model-first.

matplotlib and cnnpc.export (which loads the database layer) are imported inside the function,
so `cnnpc --help` stays instant and the runtime, which imports this package, needs neither.
"""

from __future__ import annotations

from pathlib import Path

from cnnpc.upload._plan import UploadReport


def plot_upload(report: UploadReport, path: Path) -> Path:
    """Step curves of both strategies over the whole model's upload time (plus a margin)."""
    import matplotlib

    from cnnpc.export import save_png

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = report.order
    end = order.whole_upload_s * 1.15
    xs = [0.0] + [s.done_s for s in order.steps]
    ys = [order.initial.latency_ms] + [s.latency_ms for s in order.steps]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.step([*xs, end], [*ys, ys[-1]], where="post", linewidth=2, label="incremental (IONN order)")
    ax.step(
        [0.0, order.whole_upload_s, end],
        [order.initial.latency_ms, order.full.latency_ms, order.full.latency_ms],
        where="post",
        linestyle="--",
        label="whole model first",
    )
    for s in order.steps:
        ax.annotate(
            "+".join(s.segments),
            (s.done_s, s.latency_ms),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    ax.axvline(order.full_benefit_s, color="green", alpha=0.4, linewidth=1)
    ax.set_xlabel("time since the upload started (s)")
    ax.set_ylabel("per-query latency (ms)")
    c = report.comparison
    ax.set_title(
        f"{report.model} on {report.device}: upload {report.upload_mbps:g} Mbps, "
        f"{report.query_rate:g} queries/s; mean {c.incremental_mean_ms:.1f} vs "
        f"{c.whole_first_mean_ms:.1f} ms",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_png(fig, Path(path))
