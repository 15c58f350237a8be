"""The figures across regimes: the Baseline's and SEL-95's curves at each width and start (this book's regimes
beside the original's), and the sparsity study's first-epoch sparsity by width, start and calibration."""
from __future__ import annotations

import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..config import EXPERIMENTS, EXPERIMENT_TITLES
from .axes import figure_axes
from .regimes import stage_sparsity as regime_stage_sparsity


def regime_curves(baseline: dict[str, dict[int, pd.DataFrame]], sel95: dict[str, dict[int, pd.DataFrame]],
                  finals: pd.DataFrame):
    """The regimes side by side (``regimes.curves`` of the Baseline and SEL-95, ``finals`` from
    ``regimes.final_accuracies``): the Baseline's full-test accuracy per epoch, SEL-95's mean gradient sparsity per
    stage, and the four experiments' last held-out accuracy; one colour per regime, each seed a line or a point."""
    fig, axes = figure_axes((13, 3.9), ncols=3)
    colors = {label: f"C{i}" for i, label in enumerate(dict.fromkeys([*baseline, *sel95, *finals.get("regime", [])]))}
    ax = axes[0]
    for label, runs in baseline.items():
        for h in runs.values():
            ax.plot(h["epoch"], h["test_full"], color=colors[label], marker=".", lw=1)
    ax.set(title="Baseline: full-test accuracy per epoch", xlabel="epoch", ylabel="accuracy (%)")
    ax = axes[1]
    for label, runs in sel95.items():
        for h in runs.values():
            stages = regime_stage_sparsity(h)
            ax.plot(stages.index, stages.values, color=colors[label], marker="o", lw=1)
    ax.set(title="SEL-95: gradient entries zeroed per stage", xlabel="stage", ylabel="mean sparsity (%)",
           ylim=(0, 100))
    ax = axes[2]
    order = list(EXPERIMENTS)
    for i, (label, part) in enumerate(finals.groupby("regime", sort=False)):
        x = [order.index(e) + (i - 1) * 0.22 for e in part["experiment"]]
        ax.scatter(x, part["test_100"], color=colors[label], s=22)
    ax.set_xticks(range(len(order)), [EXPERIMENT_TITLES[e] for e in order], fontsize=8)
    ax.set(title="Last held-out accuracy, each run", ylabel="accuracy (%)")
    for a in axes[:2]:
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
    counts = {label: max(len(baseline.get(label, {})), len(sel95.get(label, {}))) for label in colors}
    handles = [Line2D([], [], color=c, marker="o", lw=1) for c in colors.values()]
    fig.legend(handles, [f"{label} (n={counts[label]} finished)" for label in colors], loc="outside lower center",
               ncol=len(colors), fontsize=8)
    return fig


def sparsity_study(points: pd.DataFrame, cells: pd.DataFrame, original: float | None, rule: float):
    """The sparsity study (``studies.sparsity_study``'s points, ``report.sparsity.cells``): the first SEL epoch's sparsity
    (%) against the width, one panel per calibration rule, one colour per start; each seed a dot, each cell's mean
    with its 95% interval; the decision rule's threshold and the original's value as horizontal lines."""
    calibrations = list(dict.fromkeys(cells["calibration"]))
    fig, axes = figure_axes((11, 3.9), ncols=len(calibrations))
    axes = list(axes) if len(calibrations) > 1 else [axes]
    starts = list(dict.fromkeys(cells["start"]))
    widths = sorted(cells["width"].unique())
    for ax, cal in zip(axes, calibrations):
        for k, start in enumerate(starts):
            offset = (k - (len(starts) - 1) / 2) * 0.18
            part = points[(points["calibration"] == cal) & (points["start"] == start)]
            x = [widths.index(w) + offset for w in part["width"]]
            ax.scatter(x, 100 * part["sparsity"], color=f"C{k}", s=14, alpha=0.55, zorder=3)
            c = cells[(cells["calibration"] == cal) & (cells["start"] == start)]
            xs = [widths.index(w) + offset + 0.06 for w in c["width"]]
            ax.errorbar(xs, 100 * c["mean"], yerr=[100 * (c["mean"] - c["lo"]).fillna(0),
                                                   100 * (c["hi"] - c["mean"]).fillna(0)],
                        fmt="D", color=f"C{k}", ms=5, capsize=3, lw=1.2, zorder=4)
        ax.axhline(100 * rule, color="0.3", ls="--", lw=1)
        if original is not None:
            ax.axhline(100 * original, color="C3", ls=":", lw=1.4)
        ax.set_xticks(range(len(widths)), [str(w) for w in widths])
        ax.set(title=f"calibration: {cal}", xlabel="width", ylabel="gradient entries zeroed, first SEL epoch (%)",
               ylim=(0, 100))
    n = int(cells["n"].max()) if len(cells) else 0
    handles = [Line2D([], [], color=f"C{k}", marker="D", lw=1.2) for k in range(len(starts))]
    labels = [f"{s} (each seed a dot, mean and 95% CI; n={n} seeds per cell)" for s in starts]
    handles += [Line2D([], [], color="0.3", ls="--"), Line2D([], [], color="C3", ls=":")]
    labels += [f"the rule: lower end >= {100 * rule:.0f}%",
               "the original's first SEL epoch" + (f" ({100 * original:.1f}%)" if original is not None else " (n/a)")]
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8)
    return fig
