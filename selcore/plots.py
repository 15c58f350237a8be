"""The book's figures: every panel of the original release's 14-panel figure, plus honest ones.

Each function takes the dict of ``selcore.summary.load_results`` (experiment name -> history
DataFrame) and returns a matplotlib ``Figure``. An experiment missing from the dict is skipped; a panel
with nothing to show (executed FLOPs in the original release's CSVs, SEL signals without an SEL run)
says so inside the figure instead of failing. One colour per system throughout (``COLORS``).

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
from matplotlib.ticker import MaxNLocator

from .config import EXPERIMENTS, EXPERIMENT_TITLES
from .summary import flops_saved, summary_table

Results = dict[str, pd.DataFrame]

COLORS = dict(zip(EXPERIMENTS, sns.color_palette("colorblind", len(EXPERIMENTS))))
"""One colour per system, used by every figure."""

DPI = 110


# ----------------------------------------------------------------------------- helpers
def _new(title: str, xlabel: str, ylabel: str, size=(6.4, 4.0)):
    with sns.axes_style("whitegrid"):
        fig = plt.figure(figsize=size, layout="constrained")
        plt.close(fig)
        ax = fig.subplots()
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if xlabel.startswith("epoch"):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig, ax


def _present(results: Results, column: str | None = None):
    """(name, DataFrame) of the experiments present, in the book's order (with ``column``, if given)."""
    return [(e, results[e]) for e in EXPERIMENTS
            if e in results and (column is None or column in results[e].columns)]


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", wrap=True,
            fontsize=10, color="0.35")


def _finish(fig, ax, empty_note: str | None = None):
    if ax.has_data():
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    else:
        _note(ax, empty_note or "no data")
    return fig


def _per_epoch(results: Results, column: str, title: str, ylabel: str, log: bool = False,
               empty_note: str | None = None):
    fig, ax = _new(title, "epoch (logged)", ylabel)
    for e, df in _present(results, column):
        ax.plot(df["epoch"], df[column], marker=".", color=COLORS[e], label=EXPERIMENT_TITLES[e])
        if log and (df[column] > 0).any():
            ax.set_yscale("log")
    return _finish(fig, ax, empty_note)


def _stage_starts(df: pd.DataFrame) -> list[float]:
    """Epochs (minus one half) at which the CSV's ``stage`` column changes value."""
    if "stage" not in df.columns:
        return []
    change = df["stage"].ne(df["stage"].shift()) & df.index.to_series().gt(df.index[0])
    return list(df.loc[change, "epoch"] - 0.5)


def _mark_stages(ax, df: pd.DataFrame) -> None:
    for i, x in enumerate(_stage_starts(df)):
        ax.axvline(x, color="0.6", ls=":", lw=1, label="stage change" if i == 0 else None)


def comparison_table(results: Results) -> pd.DataFrame:
    """What the comparison figures plot: ``summary_table`` (last epoch of each system) plus
    ``exec FLOPs saved %``, the executed training FLOPs saved vs the Baseline's (%, negative = more)."""
    table = summary_table(results)
    base = table.loc["baseline", "exec FLOPs T"] if "baseline" in table.index else float("nan")
    table["exec FLOPs saved %"] = [flops_saved(v, base) for v in table["exec FLOPs T"]]
    return table


# ----------------------------------------------------------------------------- the original's panels
def accuracy_full(results: Results):
    """Accuracy (%) on the whole test set (``test_full``) after each logged epoch, one line per system.
    Under a reduced profile "whole" means the profile's test subset."""
    return _per_epoch(results, "test_full", "Test accuracy, full test set", "accuracy (%)")


def accuracy_held_out(results: Results):
    """Accuracy (%) on the held-out set (the first 100 test images per class, ``test_100``) per epoch."""
    return _per_epoch(results, "test_100", "Test accuracy, held-out 100/class", "accuracy (%)")


def train_accuracy(results: Results):
    """Training accuracy (%) per epoch, measured on the batches of that epoch (``train_acc``); SEL's
    stages train on slices of the data, so its curve follows the stage, not the whole training set."""
    return _per_epoch(results, "train_acc", "Training accuracy (convergence)", "accuracy (%)")


def _gap(results: Results, name: str):
    fig, ax = _new(f"Train vs test: {EXPERIMENT_TITLES[name]}", "epoch (logged)", "accuracy (%)")
    df = results.get(name)
    if df is not None:
        ax.plot(df["epoch"], df["train_acc"], color=COLORS[name], label="train")
        ax.plot(df["epoch"], df["test_full"], color=COLORS[name], ls="--", label="test (full)")
        ax.fill_between(df["epoch"], df["train_acc"], df["test_full"], color=COLORS[name], alpha=0.15,
                        label="gap")
        _mark_stages(ax, df)
    return _finish(fig, ax, f"no {EXPERIMENT_TITLES[name]} run in these results")


def gap_sel95(results: Results):
    """SEL-95: training accuracy and full-test accuracy per epoch, the gap between them shaded;
    dotted lines mark the stage changes."""
    return _gap(results, "sel95")


def gap_warmup(results: Results):
    """Warmup+SEL: training and full-test accuracy per epoch, gap shaded, stage changes dotted
    (stage 0 = the dense warmup)."""
    return _gap(results, "warmup")


def _class_signal(results: Results, prefix: str, title: str, ylabel: str, name: str = "sel95"):
    fig, ax = _new(f"{title}: {EXPERIMENT_TITLES[name]}", "epoch (logged)", ylabel, size=(7.2, 4.0))
    df = results.get(name)
    cols = [c for c in (df.columns if df is not None else []) if c.startswith(prefix)]
    palette = sns.color_palette("tab10", len(cols))
    for c, colour in zip(cols, palette):
        ax.plot(df["epoch"], df[c], color=colour, label=c[len(prefix):])
    if cols:
        _mark_stages(ax, df)
        ax.legend(fontsize=7, ncols=2, loc="best")
        return fig
    return _finish(fig, ax, f"no {EXPERIMENT_TITLES[name]} run in these results")


def embarrassment_sel95(results: Results):
    """SEL-95: per-class embarrassment E_c (mean temperature-scaled cross-entropy of the class's
    training samples, as logged for the epoch), one line per class."""
    return _class_signal(results, "E_", "Per-class embarrassment E", "E_c")


def confidence_sel95(results: Results):
    """SEL-95: per-class confidence C_c = max(0, 1 - E_c), one line per class."""
    return _class_signal(results, "C_", "Per-class confidence C", "C_c")


def sparsity(results: Results):
    """Sparsity per epoch (%): the fraction of gradient entries SEL zeroed; for the Lottery Ticket,
    the fraction of weights its mask removed; 0 for the Baseline."""
    fig, ax = _new("Sparsity", "epoch (logged)", "sparsity (%)")
    for e, df in _present(results, "sparsity"):
        ax.plot(df["epoch"], 100 * df["sparsity"], marker=".", color=COLORS[e], label=EXPERIMENT_TITLES[e])
    return _finish(fig, ax)


def flops_proxy(results: Results):
    """Cumulative "FLOPs" as the original release counts them (``flops_T``, the proxy
    2 * params * samples * (1 - sparsity), in 1e12), log scale. Not executed work."""
    return _per_epoch(results, "flops_T", "Cumulative FLOPs (the original's proxy)", "proxy FLOPs (T, log)",
                      log=True)


def training_time(results: Results):
    """Cumulative wall-clock training time (s) per epoch (``time_s``; the Lottery Ticket's clock
    starts at retraining, as in the original)."""
    return _per_epoch(results, "time_s", "Training time", "wall clock (s)")


def per_class_accuracy(results: Results):
    """Held-out accuracy (%) of each class at each system's last epoch, grouped bars."""
    rows = [{"class": c[4:], "system": EXPERIMENT_TITLES[e], "accuracy": df[c].iloc[-1]}
            for e, df in _present(results) for c in df.columns if c.startswith("acc_")]
    fig, ax = _new("Per-class held-out accuracy (last epoch)", "", "accuracy (%)", size=(9.0, 4.0))
    if rows:
        palette = {EXPERIMENT_TITLES[e]: COLORS[e] for e in EXPERIMENTS}
        sns.barplot(pd.DataFrame(rows), x="class", y="accuracy", hue="system", palette=palette, ax=ax)
        ax.tick_params(axis="x", rotation=30)
    return _finish(fig, ax)


def _accuracy_vs_saved(results: Results, title: str, saved: str, bubbles: bool):
    fig, ax = _new(title, f"{'executed ' if saved.startswith('exec') else ''}FLOPs saved vs Baseline (%)",
                   "held-out accuracy (%)")
    table = comparison_table(results)
    table = table[table[saved].notna()]
    for e, row in table.iterrows():
        size = 1500 * row["Time s"] / table["Time s"].max() if bubbles else 60
        ax.scatter(row[saved], row["100/class"], s=size, color=COLORS[e], alpha=0.6 if bubbles else 1.0,
                   edgecolor="k")
        ax.annotate(row["System"], (row[saved], row["100/class"]), textcoords="offset points",
                    xytext=(8, 8), fontsize=8)
    if bubbles and len(table) > 1:
        front = pareto_front(table[saved], table["100/class"])
        ax.plot(table.loc[front, saved], table.loc[front, "100/class"], ls="--", color="0.4",
                label="Pareto front")
    if ax.has_data():
        ax.margins(0.15)
    return _finish(fig, ax, "needs the Baseline run to compute FLOPs saved")


def accuracy_vs_flops_saved(results: Results):
    """Held-out accuracy (%) at the last epoch against proxy FLOPs saved vs the Baseline (%)."""
    return _accuracy_vs_saved(results, "Accuracy vs FLOPs saved (proxy)", "FLOPs saved %", bubbles=False)


def pareto(results: Results):
    """Pareto bubble chart: x = proxy FLOPs saved (%), y = held-out accuracy (%), bubble area
    proportional to wall-clock time; the dashed line joins the systems no other system beats on
    both axes."""
    return _accuracy_vs_saved(results, "Pareto: accuracy vs FLOPs saved (bubble = time)", "FLOPs saved %",
                              bubbles=True)


def summary_panel(results: Results):
    """Accuracy vs time vs FLOPs per system at the last epoch, grouped bars: held-out accuracy (%),
    wall-clock time, proxy FLOPs and (where logged) executed FLOPs, each as % of the Baseline's."""
    table = comparison_table(results)
    fig, ax = _new("Summary: accuracy, time and FLOPs", "", "% (accuracy) or % of Baseline", size=(8.0, 4.0))
    if "baseline" in table.index:
        base = table.loc["baseline"]
        long = pd.DataFrame(
            [{"system": row["System"], "metric": metric, "value": value}
             for _, row in table.iterrows()
             for metric, value in (("held-out accuracy", row["100/class"]),
                                   ("time", 100 * row["Time s"] / base["Time s"]),
                                   ("proxy FLOPs", 100 * row["FLOPs T"] / base["FLOPs T"]),
                                   ("executed FLOPs", 100 * row["exec FLOPs T"] / base["exec FLOPs T"]))
             if pd.notna(value)])
        sns.barplot(long, x="system", y="value", hue="metric", palette="muted", ax=ax)
    return _finish(fig, ax, "needs the Baseline run (values are relative to it)")


# ----------------------------------------------------------------------------- honest panels
def flops_proxy_vs_executed(results: Results):
    """Cumulative training FLOPs per epoch, log scale: executed forward+backward FLOPs measured by
    torch's counter (``exec_flops_T``, solid; includes prior work such as the Lottery Ticket's
    pretraining and SEL's difficulty scoring) beside the original's proxy (``flops_T``, dashed)."""
    fig, ax = _new("Cumulative FLOPs: executed (solid) vs proxy (dashed)", "epoch (logged)", "FLOPs (T, log)")
    for e, df in _present(results, "exec_flops_T"):
        ax.plot(df["epoch"], df["exec_flops_T"], color=COLORS[e], label=f"{EXPERIMENT_TITLES[e]}, executed")
        ax.plot(df["epoch"], df["flops_T"], color=COLORS[e], ls="--", label=f"{EXPERIMENT_TITLES[e]}, proxy")
    if ax.has_data():
        ax.set_yscale("log")
    return _finish(fig, ax, "these CSVs hold no executed FLOPs (exec_flops_T): the original release's format")


def accuracy_vs_executed_flops(results: Results):
    """Held-out accuracy (%) after each epoch against the cumulative executed training FLOPs
    (``exec_flops_T``, log scale): the cost each system really paid for its accuracy."""
    fig, ax = _new("Accuracy vs executed FLOPs", "executed FLOPs (T, log)", "held-out accuracy (%)")
    for e, df in _present(results, "exec_flops_T"):
        ax.plot(df["exec_flops_T"], df["test_100"], marker=".", color=COLORS[e], label=EXPERIMENT_TITLES[e])
    if ax.has_data():
        ax.set_xscale("log")
    return _finish(fig, ax, "these CSVs hold no executed FLOPs (exec_flops_T): the original release's format")


def pareto_front(x: pd.Series, y: pd.Series) -> list:
    """Index labels of the points not dominated on (larger x, larger y), sorted by x."""
    keep = [i for i in x.index
            if not any((x[j] >= x[i]) and (y[j] >= y[i]) and (x[j] > x[i] or y[j] > y[i]) for j in x.index)]
    return sorted(keep, key=lambda i: x[i])


# ----------------------------------------------------------------------------- registry
FIGURES: dict[str, Callable[[Results], Figure]] = {
    "accuracy_full": accuracy_full,
    "accuracy_held_out": accuracy_held_out,
    "train_accuracy": train_accuracy,
    "gap_sel95": gap_sel95,
    "gap_warmup": gap_warmup,
    "embarrassment_sel95": embarrassment_sel95,
    "confidence_sel95": confidence_sel95,
    "sparsity": sparsity,
    "flops_proxy": flops_proxy,
    "training_time": training_time,
    "per_class_accuracy": per_class_accuracy,
    "accuracy_vs_flops_saved": accuracy_vs_flops_saved,
    "summary_panel": summary_panel,
    "pareto": pareto,
    "flops_proxy_vs_executed": flops_proxy_vs_executed,
    "accuracy_vs_executed_flops": accuracy_vs_executed_flops,
}
"""Every figure by name: the panels of the original release's figure and web page, then the honest
FLOPs panels (executed beside proxy)."""


def save_all(results: Results, out_dir: str | Path) -> list[Path]:
    """Write every figure of ``FIGURES`` as ``<out_dir>/<name>.png``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in FIGURES.items():
        path = out / f"{name}.png"
        make(results).savefig(path, dpi=DPI)
        paths.append(path)
    return paths
