"""The book's figures: every panel of the original release's 14-panel figure, plus honest ones.

Each function takes either the dict of ``selcore.report.summary.load_results`` (experiment name -> history
DataFrame) for one seed, or a list of such dicts (one per seed), and returns a matplotlib ``Figure``.
Given a list, a curve is the mean over the seeds at each epoch with the min-max range across seeds
shaded, and a bar or point is the mean with a min-max error bar; the legend states n. An experiment missing from the dict is skipped; a panel
with nothing to show (executed FLOPs in the original release's CSVs, SEL signals without an SEL run)
says so inside the figure instead of failing. One colour per system throughout (``figdata.COLORS``); what a
figure plots (per-seed frames, epoch statistics, comparison tables, the Pareto front) is ``selcore.report.figdata``,
shared with the interactive figures.

Each figure is created through pyplot (so that Jupyter's inline backend loads and can render it) and
at once released from pyplot's list of open figures: a notebook shows it once, when it is a cell's value,
and nothing needs closing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..config import EXPERIMENTS, EXPERIMENT_TITLES
from .regimes import stage_sparsity as regime_stage_sparsity
from .figdata import (COLORS, SPREAD, AnyResults, as_seed_list, comparison_table, comparison_tables, epoch_stats,
                      experiment_frames, pareto_front, present, seed_spread, stage_starts)

DPI = 110
"""Resolution (dots per inch) of the PNG files ``save_all`` writes."""


# ----------------------------------------------------------------------------- helpers
def figure_axes(size=(6.4, 4.0), ncols: int = 1):
    """The book's figure: whitegrid style, constrained layout, closed to pyplot (a chapter displays or glues it);
    returns (figure, axes), one axes or an array of ``ncols``."""
    with sns.axes_style("whitegrid"):
        fig = plt.figure(figsize=size, layout="constrained")
        plt.close(fig)
        return fig, fig.subplots(1, ncols)


def new_axes(title: str, xlabel: str, ylabel: str, size=(6.4, 4.0)):
    """``figure_axes`` with one axes titled and labelled (an x axis of epochs gets integer ticks); returns
    (figure, axes)."""
    fig, ax = figure_axes(size)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if xlabel.startswith("epoch"):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig, ax


def _label(text: str, n: int) -> str:
    return f"{text} (n={n})" if n > 1 else text


def _line(ax, frames: list[pd.DataFrame], column: str, color, label: str | None, x: str = "epoch",
          scale: float = 1.0, **kw):
    """The mean over seeds of ``column`` against ``x``, the min-max range shaded where n > 1."""
    s = epoch_stats(frames, column, x) * [scale, scale, scale, 1]
    n = len(frames)
    ax.plot(s.index, s["mean"], color=color, label=_label(label, n) if label else None, **kw)
    if n > 1:
        ax.fill_between(s.index, s["min"], s["max"], color=color, alpha=0.18, lw=0)
    return s


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", wrap=True,
            fontsize=10, color="0.35")


def _finish(fig, ax, empty_note: str | None = None, n: int = 1):
    if ax.has_data():
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        if n > 1:
            ax.set_title(f"{ax.get_title()}\n(mean of {n} seeds; shaded / bars: {SPREAD})", fontsize=10)
    else:
        _note(ax, empty_note or "no data")
    return fig


def _n(results: AnyResults) -> int:
    return len(as_seed_list(results))


def _per_epoch(results: AnyResults, column: str, title: str, ylabel: str, log: bool = False,
               empty_note: str | None = None, scale: float = 1.0):
    fig, ax = new_axes(title, "epoch (logged)", ylabel)
    for e, frames in present(results, column):
        _line(ax, frames, column, COLORS[e], EXPERIMENT_TITLES[e], marker=".", scale=scale)
        if log and any((f[column] > 0).any() for f in frames):
            ax.set_yscale("log")
    return _finish(fig, ax, empty_note, _n(results))


def _mark_stages(ax, df: pd.DataFrame) -> None:
    for i, x in enumerate(stage_starts(df)):
        ax.axvline(x, color="0.6", ls=":", lw=1, label="stage change" if i == 0 else None)


# ----------------------------------------------------------------------------- the original's panels
def accuracy_full(results: AnyResults):
    """Accuracy (%) on the whole test set (``test_full``) after each logged epoch, one line per system.
    Under a reduced profile "whole" means the profile's test subset."""
    return _per_epoch(results, "test_full", "Test accuracy, full test set", "accuracy (%)")


def accuracy_held_out(results: AnyResults):
    """Accuracy (%) on the held-out set (the first 100 test images per class, ``test_100``) per epoch."""
    return _per_epoch(results, "test_100", "Test accuracy, held-out 100/class", "accuracy (%)")


def train_accuracy(results: AnyResults):
    """Training accuracy (%) per epoch, measured on the batches of that epoch (``train_acc``); SEL's
    stages train on slices of the data, so its curve follows the stage, not the whole training set."""
    return _per_epoch(results, "train_acc", "Training accuracy (convergence)", "accuracy (%)")


def _gap(results: AnyResults, name: str):
    fig, ax = new_axes(f"Train vs test: {EXPERIMENT_TITLES[name]}", "epoch (logged)", "accuracy (%)")
    frames = experiment_frames(results, name)
    if frames:
        tr = _line(ax, frames, "train_acc", COLORS[name], "train")
        te = _line(ax, frames, "test_full", COLORS[name], "test (full)", ls="--")
        common = tr.index.intersection(te.index)
        ax.fill_between(common, tr.loc[common, "mean"], te.loc[common, "mean"], color=COLORS[name], alpha=0.10,
                        hatch="//", lw=0, label="gap (means)" if len(frames) > 1 else "gap")
        _mark_stages(ax, frames[0])
    return _finish(fig, ax, f"no {EXPERIMENT_TITLES[name]} run in these results", len(frames))


def gap_sel95(results: AnyResults):
    """SEL-95: training accuracy and full-test accuracy per epoch, the gap between them hatched;
    dotted lines mark the stage changes (of the first seed; every seed has the same plan)."""
    return _gap(results, "sel95")


def gap_warmup(results: AnyResults):
    """Warmup+SEL: training and full-test accuracy per epoch, gap hatched, stage changes dotted
    (stage 0 = the dense warmup)."""
    return _gap(results, "warmup")


def _class_signal(results: AnyResults, prefix: str, title: str, ylabel: str, name: str = "sel95"):
    fig, ax = new_axes(f"{title}: {EXPERIMENT_TITLES[name]}", "epoch (logged)", ylabel, size=(7.2, 4.0))
    frames = experiment_frames(results, name)
    cols = [c for c in (frames[0].columns if frames else []) if c.startswith(prefix)]
    palette = sns.color_palette("tab10", len(cols))
    for c, colour in zip(cols, palette):
        _line(ax, frames, c, colour, c[len(prefix):])
    if cols:
        _mark_stages(ax, frames[0])
        ax.legend(fontsize=7, ncols=2, loc="best")
        if len(frames) > 1:
            ax.set_title(f"{ax.get_title()}\n(mean of {len(frames)} seeds; shaded: {SPREAD})", fontsize=10)
        return fig
    return _finish(fig, ax, f"no {EXPERIMENT_TITLES[name]} run in these results")


def embarrassment_sel95(results: AnyResults):
    """SEL-95: per-class embarrassment E_c (mean temperature-scaled cross-entropy of the class's
    training samples, as logged for the epoch), one line per class."""
    return _class_signal(results, "E_", "Per-class embarrassment E", "E_c")


def confidence_sel95(results: AnyResults):
    """SEL-95: per-class confidence C_c = max(0, 1 - E_c), one line per class."""
    return _class_signal(results, "C_", "Per-class confidence C", "C_c")


def sparsity(results: AnyResults):
    """Sparsity per epoch (%): the fraction of gradient entries SEL zeroed; for the Lottery Ticket,
    the fraction of weights its mask removed; 0 for the Baseline."""
    return _per_epoch(results, "sparsity", "Sparsity", "sparsity (%)", scale=100.0)


def update_density(results: AnyResults):
    """Per epoch (%): the gradient density 1 - sparsity (dashed: the fraction of gradient entries the
    mask kept) beside the update density (solid, ``update_density``: the fraction of parameter entries
    that actually changed in a step, epoch mean). Under Adam a zeroed gradient entry still moves its
    weight through the running moments, so the update density can stay far above the gradient density."""
    fig, ax = new_axes("Gradient density vs update density", "epoch (logged)", "% of parameter entries")
    for e, frames in present(results, "update_density"):
        _line(ax, frames, "update_density", COLORS[e], f"{EXPERIMENT_TITLES[e]}, updated", scale=100.0,
              marker=".")
        dens = [f.assign(grad_density=1.0 - f["sparsity"]) for f in frames]
        _line(ax, dens, "grad_density", COLORS[e], f"{EXPERIMENT_TITLES[e]}, gradient kept", scale=100.0, ls="--")
    return _finish(fig, ax, "these CSVs hold no update density (update_density): the original release's format",
                   _n(results))


def flops_proxy(results: AnyResults):
    """Cumulative "FLOPs" as the original release counts them (``flops_T``, the proxy
    2 * params * samples * (1 - sparsity), in 1e12), log scale. Not executed work."""
    return _per_epoch(results, "flops_T", "Cumulative FLOPs (the original's proxy)", "proxy FLOPs (T, log)",
                      log=True)


def training_time(results: AnyResults):
    """Cumulative wall-clock training time (s) per epoch (``time_s``; the Lottery Ticket's clock
    starts at retraining, as in the original)."""
    return _per_epoch(results, "time_s", "Training time", "wall clock (s)")


def per_class_accuracy(results: AnyResults):
    """Held-out accuracy (%) of each class at each system's last epoch, grouped bars (mean over seeds,
    error bar = min-max where several seeds are given)."""
    rows = [{"class": c[4:], "system": EXPERIMENT_TITLES[e], "accuracy": df[c].iloc[-1]}
            for e, frames in present(results) for df in frames for c in df.columns if c.startswith("acc_")]
    fig, ax = new_axes("Per-class held-out accuracy (last epoch)", "", "accuracy (%)", size=(9.0, 4.0))
    if rows:
        palette = {EXPERIMENT_TITLES[e]: COLORS[e] for e in EXPERIMENTS}
        sns.barplot(pd.DataFrame(rows), x="class", y="accuracy", hue="system", palette=palette, ax=ax,
                    errorbar=("pi", 100) if _n(results) > 1 else None)
        ax.tick_params(axis="x", rotation=30)
    return _finish(fig, ax, n=_n(results))


def _accuracy_vs_saved(results: AnyResults, title: str, saved: str, bubbles: bool):
    fig, ax = new_axes(title, f"{'executed ' if saved.startswith('exec') else ''}FLOPs saved vs Baseline (%)",
                   "held-out accuracy (%)")
    table = comparison_table(results)
    table = table[table[saved].notna()]
    n = _n(results)
    if n > 1 and len(table):
        xs, ys = seed_spread(results, saved), seed_spread(results, "100/class")
    for e, row in table.iterrows():
        size = 1500 * row["Time s"] / table["Time s"].max() if bubbles else 60
        ax.scatter(row[saved], row["100/class"], s=size, color=COLORS[e], alpha=0.6 if bubbles else 1.0,
                   edgecolor="k")
        if n > 1:
            ax.errorbar(row[saved], row["100/class"],
                        xerr=[[row[saved] - xs.loc[e, "min"]], [xs.loc[e, "max"] - row[saved]]],
                        yerr=[[row["100/class"] - ys.loc[e, "min"]], [ys.loc[e, "max"] - row["100/class"]]],
                        color=COLORS[e], capsize=3, lw=1)
        ax.annotate(row["System"], (row[saved], row["100/class"]), textcoords="offset points",
                    xytext=(8, 8), fontsize=8)
    if bubbles and len(table) > 1:
        front = pareto_front(table[saved], table["100/class"])
        ax.plot(table.loc[front, saved], table.loc[front, "100/class"], ls="--", color="0.4",
                label="Pareto front" + (" (of the means)" if n > 1 else ""))
    if ax.has_data():
        ax.margins(0.15)
    return _finish(fig, ax, "needs the Baseline run to compute FLOPs saved", n)


def accuracy_vs_flops_saved(results: AnyResults):
    """Held-out accuracy (%) at the last epoch against proxy FLOPs saved vs the Baseline (%)."""
    return _accuracy_vs_saved(results, "Accuracy vs FLOPs saved (proxy)", "FLOPs saved %", bubbles=False)


def pareto(results: AnyResults):
    """Pareto bubble chart: x = proxy FLOPs saved (%), y = held-out accuracy (%), bubble area
    proportional to wall-clock time; the dashed line joins the systems no other system beats on
    both axes (of the means, where several seeds are given)."""
    return _accuracy_vs_saved(results, "Pareto: accuracy vs FLOPs saved (bubble = time)", "FLOPs saved %",
                              bubbles=True)


def summary_panel(results: AnyResults):
    """Accuracy vs time vs FLOPs per system at the last epoch, grouped bars: held-out accuracy (%),
    wall-clock time, proxy FLOPs and (where logged) executed FLOPs, each as % of the Baseline's
    (the same seed's Baseline; bars = mean over seeds, error bars = min-max)."""
    fig, ax = new_axes("Summary: accuracy, time and FLOPs", "", "% (accuracy) or % of Baseline", size=(8.0, 4.0))
    rows = []
    for table in comparison_tables(results):
        if "baseline" not in table.index:
            continue
        base = table.loc["baseline"]
        rows += [{"system": row["System"], "metric": metric, "value": value}
                 for _, row in table.iterrows()
                 for metric, value in (("held-out accuracy", row["100/class"]),
                                       ("time", 100 * row["Time s"] / base["Time s"]),
                                       ("proxy FLOPs", 100 * row["FLOPs T"] / base["FLOPs T"]),
                                       ("executed FLOPs", 100 * row["exec FLOPs T"] / base["exec FLOPs T"]))
                 if pd.notna(value)]
    if rows:
        sns.barplot(pd.DataFrame(rows), x="system", y="value", hue="metric", palette="muted", ax=ax,
                    errorbar=("pi", 100) if _n(results) > 1 else None)
    return _finish(fig, ax, "needs the Baseline run (values are relative to it)", _n(results))


# ----------------------------------------------------------------------------- honest panels
def flops_proxy_vs_executed(results: AnyResults):
    """Cumulative training FLOPs per epoch, log scale: executed forward+backward FLOPs measured by
    torch's counter (``exec_flops_T``, solid; includes prior work such as the Lottery Ticket's
    pretraining and SEL's difficulty scoring) beside the original's proxy (``flops_T``, dashed)."""
    fig, ax = new_axes("Cumulative FLOPs: executed (solid) vs proxy (dashed)", "epoch (logged)", "FLOPs (T, log)")
    for e, frames in present(results, "exec_flops_T"):
        _line(ax, frames, "exec_flops_T", COLORS[e], f"{EXPERIMENT_TITLES[e]}, executed")
        _line(ax, frames, "flops_T", COLORS[e], f"{EXPERIMENT_TITLES[e]}, proxy", ls="--")
    if ax.has_data():
        ax.set_yscale("log")
    return _finish(fig, ax, "these CSVs hold no executed FLOPs (exec_flops_T): the original release's format",
                   _n(results))


def accuracy_vs_executed_flops(results: AnyResults):
    """Held-out accuracy (%) after each epoch against the cumulative executed training FLOPs
    (``exec_flops_T``, log scale): the cost each system really paid for its accuracy (per epoch, the
    means over seeds of both; the accuracy's min-max shaded)."""
    fig, ax = new_axes("Accuracy vs executed FLOPs", "executed FLOPs (T, log)", "held-out accuracy (%)")
    for e, frames in present(results, "exec_flops_T"):
        x = epoch_stats(frames, "exec_flops_T")["mean"]
        y = epoch_stats(frames, "test_100")
        ax.plot(x, y["mean"], marker=".", color=COLORS[e], label=_label(EXPERIMENT_TITLES[e], len(frames)))
        if len(frames) > 1:
            ax.fill_between(x, y["min"], y["max"], color=COLORS[e], alpha=0.18, lw=0)
    if ax.has_data():
        ax.set_xscale("log")
    return _finish(fig, ax, "these CSVs hold no executed FLOPs (exec_flops_T): the original release's format",
                   _n(results))


COMPUTE_VIEWS = {"flops_T": "original's proxy", "exec_flops_T": "executed (measured)",
                 "ideal_flops_T": "ideal sparse kernels"}
"""The three ways the book counts cumulative training FLOPs, by CSV column."""


def compute_views(results: AnyResults):
    """Three views of each system's cumulative training FLOPs at its last epoch (T, log scale): the
    original's proxy (``flops_T``), the executed count (``exec_flops_T``) and what an accelerator with
    perfect sparse kernels would execute (``ideal_flops_T``: executed minus the zeroed entries' weight-gradient
    products, or a pruned weight's three products, ``flops.ideal_sparse_flops`` / ``ideal_pruned_flops``). Bars = mean over seeds, error bars = min-max; a view missing from the CSVs is left out."""
    rows = [{"system": EXPERIMENT_TITLES[e], "view": label, "FLOPs T": float(df[col].iloc[-1])}
            for e, frames in present(results) for df in frames
            for col, label in COMPUTE_VIEWS.items() if col in df.columns]
    fig, ax = new_axes("Training compute, three ways to count", "", "cumulative FLOPs (T, log)", size=(8.0, 4.0))
    if rows:
        sns.barplot(pd.DataFrame(rows), x="system", y="FLOPs T", hue="view", palette="deep", ax=ax,
                    hue_order=[v for v in COMPUTE_VIEWS.values() if v in {r["view"] for r in rows}],
                    errorbar=("pi", 100) if _n(results) > 1 else None)
        ax.set_yscale("log")
        if not any(r["view"] != COMPUTE_VIEWS["flops_T"] for r in rows):
            ax.text(0.5, 0.92, "only the proxy: these CSVs hold no exec_flops_T / ideal_flops_T",
                    transform=ax.transAxes, ha="center", fontsize=9, color="0.35")
    return _finish(fig, ax, n=_n(results))


# ----------------------------------------------------------------------------- registry
FIGURES: dict[str, Callable[[AnyResults], Figure]] = {
    "accuracy_full": accuracy_full,
    "accuracy_held_out": accuracy_held_out,
    "train_accuracy": train_accuracy,
    "gap_sel95": gap_sel95,
    "gap_warmup": gap_warmup,
    "embarrassment_sel95": embarrassment_sel95,
    "confidence_sel95": confidence_sel95,
    "sparsity": sparsity,
    "update_density": update_density,
    "flops_proxy": flops_proxy,
    "training_time": training_time,
    "per_class_accuracy": per_class_accuracy,
    "accuracy_vs_flops_saved": accuracy_vs_flops_saved,
    "summary_panel": summary_panel,
    "pareto": pareto,
    "flops_proxy_vs_executed": flops_proxy_vs_executed,
    "accuracy_vs_executed_flops": accuracy_vs_executed_flops,
    "compute_views": compute_views,
}
"""Every figure by name: the panels of the original release's figure and web page, then the honest
FLOPs panels (executed beside proxy, and the three views of compute)."""


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


def save_all(results: AnyResults, out_dir: str | Path) -> list[Path]:
    """Write every figure of ``FIGURES`` as ``<out_dir>/<name>.png`` (one seed's results or a list of
    them, as every figure takes); returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in FIGURES.items():
        path = out / f"{name}.png"
        make(results).savefig(path, dpi=DPI)
        paths.append(path)
    return paths
