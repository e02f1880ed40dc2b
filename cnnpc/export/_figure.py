"""`cnnpc show SEARCH --png FILE`: a search's picture outside Excel, three panels.

The Pareto front with the floor (or budget) and the best plan; the best plan's latency breakdown
against the baselines; the best-so-far objective over the trials. matplotlib is imported inside
the function (Agg backend), so `cnnpc --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnpc.export._overview import PART_LABELS, Overview
from cnnpc.export._pareto import nice_axis, pareto_data
from cnnpc.export._report import SearchReport

PART_COLORS = ("#4472C4", "#A5A5A5", "#ED7D31", "#7F7F7F", "#70AD47", "#FFC000")
OFF_SCALE = 3.0  # as the workbook: a bar over 3x the fastest is cut, its total written


def write_png(report: SearchReport, view: Overview, path: Path) -> Path:
    """Draw the three panels of one search (read with its trials) and write the PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cnnpc.export import save_png

    if report.multi_objective:  # a pareto search: its front of latency and energy beside
        fig, axes = plt.subplots(1, 4, figsize=(22.5, 5.2))
        _front(axes[3], report)
    else:
        fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    _pareto(axes[0], report)
    _bars(axes[1], view)
    _progress(axes[2], report)
    fig.suptitle(view.title, fontsize=12, fontweight="bold")
    fig.tight_layout()
    return save_png(fig, Path(path))


def _pareto(ax: Any, report: SearchReport) -> None:
    data = pareto_data(report)
    for points, style in (
        (data.infeasible, {"color": "#A5A5A5", "marker": "x", "label": "infeasible"}),
        (data.feasible, {"color": "#2E75B6", "marker": "o", "label": "feasible"}),
    ):
        if points:
            ax.scatter(*zip(*points, strict=True), s=22, zorder=3, **style)
    if data.front:
        ax.plot(*zip(*data.front, strict=True), color="#1F4E78", lw=1.2, label="Pareto front")
    ax.plot(*zip(*data.target, strict=True), "--", color="#C00000", lw=1.6, label=data.target_label)
    if data.best is not None:
        ax.scatter(*data.best, s=160, marker="*", color="#00B050", edgecolor="black", zorder=4)
        ax.annotate(
            f"{data.best_label}\n{data.best[0]:.2f} ms, {100 * data.best[1]:.2f}%",
            data.best,
            xytext=(8, -24),
            textcoords="offset points",
            fontsize=8,
            bbox={"boxstyle": "round", "fc": "white", "ec": "#00B050", "alpha": 0.9},
        )
    ax.set_xlim(data.x.low, data.x.high)
    ax.set_ylim(data.y.low, data.y.high)
    ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("validation accuracy")
    ax.set_title("Pareto front: latency vs accuracy", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")


def _front(ax: Any, report: SearchReport) -> None:
    """A pareto search: every measured trial's latency and phone energy, coloured by accuracy,
    and Optuna's front (latency, energy, accuracy) ringed and labelled with its accuracy."""

    def energy(t: Any) -> float | None:
        value = None if t.plan is None else t.plan.get("energy_mj")
        return None if value is None else float(value)

    points = [
        (t.latency_ms, e, t.val_accuracy)
        for t in report.trials or report.front
        if t.state == "complete" and t.latency_ms is not None and (e := energy(t)) is not None
    ]
    front = [(t.latency_ms, energy(t), t.val_accuracy) for t in report.front]
    if points:
        xs, ys, cs = zip(*points, strict=True)
        dots = ax.scatter(xs, ys, c=cs, cmap="viridis", s=22, zorder=3, label="measured trials")
        ax.figure.colorbar(dots, ax=ax, label="validation accuracy")
    if front:
        ax.scatter(
            [p[0] for p in front],
            [p[1] for p in front],
            s=150,
            facecolors="none",
            edgecolors="#C00000",
            linewidths=1.6,
            zorder=4,
            label="Pareto front (Optuna's best trials)",
        )
        for x, y, acc in front:
            if acc is not None:
                ax.annotate(
                    f"{100 * acc:.1f}%",
                    (x, y),
                    xytext=(6, 4),
                    textcoords="offset points",
                    fontsize=7,
                )
    else:
        ax.text(0.5, 0.5, "no feasible trial yet", ha="center", transform=ax.transAxes)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("phone energy (mJ)")
    ax.set_title("Pareto front: latency, phone energy, accuracy", fontsize=10)
    ax.grid(alpha=0.3)
    if points or front:
        ax.legend(fontsize=7)


def _bars(ax: Any, view: Overview) -> None:
    if not view.bars:
        ax.text(0.5, 0.5, view.note or "no plan to show", ha="center", wrap=True)
        ax.set_axis_off()
        return
    labels = [b.label for b in view.bars]
    totals = [b.latency_ms for b in view.bars]
    limit = nice_axis([0.0, *(t for t in totals if t <= OFF_SCALE * min(totals))], pad=0.12).high
    rows = range(len(view.bars))
    left = [0.0] * len(view.bars)
    for i, (name, color) in enumerate(zip(PART_LABELS, PART_COLORS, strict=True)):
        widths = [b.parts[i] for b in view.bars]
        ax.barh(rows, widths, left=left, color=color, label=name, height=0.6)
        left = [a + w for a, w in zip(left, widths, strict=True)]
    for row, total in zip(rows, totals, strict=True):
        cut = total > limit
        text = f"{total:.1f} ms" + (" (cut)" if cut else "")
        ax.text(
            min(total, limit) * (0.98 if cut else 1.0) + (0 if cut else limit * 0.01),
            row,
            text,
            va="center",
            ha="right" if cut else "left",
            fontsize=8,
            color="white" if cut else "black",
            fontweight="bold" if cut else None,
        )
    ax.set_yticks(list(rows), labels)
    ax.set_ylim(max(len(labels), 4) - 0.5, -0.5)  # top to bottom; one bar stays a bar
    ax.set_xlim(0, limit)
    ax.set_xlabel("latency (ms)")
    title = "Best plan vs baselines: latency breakdown"
    ax.set_title(title + (f"\n({view.note})" if view.note else ""), fontsize=10)
    ax.legend(fontsize=7, ncol=6, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    ax.grid(axis="x", alpha=0.3)


def _progress(ax: Any, report: SearchReport) -> None:
    """Best feasible objective after each trial (latency under a floor, accuracy under a
    budget), with every measured trial's value behind it."""
    from matplotlib.ticker import MaxNLocator

    floor = report.summary.search.mode == "acc_floor"
    trials = sorted(report.trials, key=lambda t: t.optuna_number)
    best: float | None = None
    xs: list[int] = []
    ys: list[float] = []
    for t in trials:
        value = t.latency_ms if floor else t.val_accuracy
        if t.state == "complete" and t.feasible and value is not None:
            better = best is None or (value < best if floor else value > best)
            best = value if better else best
        if best is not None:
            xs.append(t.optuna_number)
            ys.append(best)
    measured = [
        (t.optuna_number, t.latency_ms if floor else t.val_accuracy, bool(t.feasible))
        for t in trials
        if t.state == "complete"
    ]
    for ok, color, label in ((True, "#2E75B6", "feasible trial"), (False, "#A5A5A5", "infeasible")):
        pts = [(n, v) for n, v, f in measured if f is ok and v is not None]
        if pts:
            ax.scatter(*zip(*pts, strict=True), s=14, color=color, label=label, zorder=3)
    if xs:
        ax.step(xs, ys, where="post", color="#00B050", lw=2, label="best so far")
    ax.set_xlabel("trial")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("latency (ms)" if floor else "validation accuracy")
    if not floor:
        ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    kind = "latency (min)" if floor else "accuracy (max)"
    ax.set_title(f"Best feasible {kind} over trials", fontsize=10)
    ax.grid(alpha=0.3)
    if not measured:
        ax.text(0.5, 0.5, "no measured trial yet", ha="center", transform=ax.transAxes)
    else:
        ax.legend(fontsize=7)
