"""The figures of compute: held-out accuracy against the FLOPs saved (the original's proxy) and against the FLOPs
executed, the Pareto front, the original's summary panel, and the three views of compute side by side (proxy,
executed, ideal sparse)."""
from __future__ import annotations

import pandas as pd
import seaborn as sns

from ..config import EXPERIMENT_TITLES
from ..registry import BASELINE
from .axes import finish, labelled, mean_line, new_axes, seed_count
from .figdata import (COLORS, AnyResults, comparison_table, comparison_tables, epoch_stats, pareto_front, present,
                      seed_spread)


def _accuracy_vs_saved(results: AnyResults, title: str, saved: str, bubbles: bool):
    fig, ax = new_axes(title, f"{'executed ' if saved.startswith('exec') else ''}FLOPs saved vs Baseline (%)",
                   "held-out accuracy (%)")
    table = comparison_table(results)
    table = table[table[saved].notna()]
    n = seed_count(results)
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
    return finish(fig, ax, "needs the Baseline run to compute FLOPs saved", n)


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
        if BASELINE not in table.index:
            continue
        base = table.loc[BASELINE]
        rows += [{"system": row["System"], "metric": metric, "value": value}
                 for _, row in table.iterrows()
                 for metric, value in (("held-out accuracy", row["100/class"]),
                                       ("time", 100 * row["Time s"] / base["Time s"]),
                                       ("proxy FLOPs", 100 * row["FLOPs T"] / base["FLOPs T"]),
                                       ("executed FLOPs", 100 * row["exec FLOPs T"] / base["exec FLOPs T"]))
                 if pd.notna(value)]
    if rows:
        sns.barplot(pd.DataFrame(rows), x="system", y="value", hue="metric", palette="muted", ax=ax,
                    errorbar=("pi", 100) if seed_count(results) > 1 else None)
    return finish(fig, ax, "needs the Baseline run (values are relative to it)", seed_count(results))


# ----------------------------------------------------------------------------- honest panels
def flops_proxy_vs_executed(results: AnyResults):
    """Cumulative training FLOPs per epoch, log scale: executed forward+backward FLOPs measured by
    torch's counter (``exec_flops_T``, solid; includes prior work such as the Lottery Ticket's
    pretraining and SEL's difficulty scoring) beside the original's proxy (``flops_T``, dashed)."""
    fig, ax = new_axes("Cumulative FLOPs: executed (solid) vs proxy (dashed)", "epoch (logged)", "FLOPs (T, log)")
    for e, frames in present(results, "exec_flops_T"):
        mean_line(ax, frames, "exec_flops_T", COLORS[e], f"{EXPERIMENT_TITLES[e]}, executed")
        mean_line(ax, frames, "flops_T", COLORS[e], f"{EXPERIMENT_TITLES[e]}, proxy", ls="--")
    if ax.has_data():
        ax.set_yscale("log")
    return finish(fig, ax, "these CSVs hold no executed FLOPs (exec_flops_T): the original release's format",
                   seed_count(results))


def accuracy_vs_executed_flops(results: AnyResults):
    """Held-out accuracy (%) after each epoch against the cumulative executed training FLOPs
    (``exec_flops_T``, log scale): the cost each system really paid for its accuracy (per epoch, the
    means over seeds of both; the accuracy's min-max shaded)."""
    fig, ax = new_axes("Accuracy vs executed FLOPs", "executed FLOPs (T, log)", "held-out accuracy (%)")
    for e, frames in present(results, "exec_flops_T"):
        x = epoch_stats(frames, "exec_flops_T")["mean"]
        y = epoch_stats(frames, "test_100")
        ax.plot(x, y["mean"], marker=".", color=COLORS[e], label=labelled(EXPERIMENT_TITLES[e], len(frames)))
        if len(frames) > 1:
            ax.fill_between(x, y["min"], y["max"], color=COLORS[e], alpha=0.18, lw=0)
    if ax.has_data():
        ax.set_xscale("log")
    return finish(fig, ax, "these CSVs hold no executed FLOPs (exec_flops_T): the original release's format",
                   seed_count(results))


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
                    errorbar=("pi", 100) if seed_count(results) > 1 else None)
        ax.set_yscale("log")
        if not any(r["view"] != COMPUTE_VIEWS["flops_T"] for r in rows):
            ax.text(0.5, 0.92, "only the proxy: these CSVs hold no exec_flops_T / ideal_flops_T",
                    transform=ax.transAxes, ha="center", fontsize=9, color="0.35")
    return finish(fig, ax, n=seed_count(results))
