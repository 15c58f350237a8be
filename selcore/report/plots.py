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

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ..config import EXPERIMENTS, EXPERIMENT_TITLES
from .axes import finish, mark_stages, mean_line, new_axes, per_epoch, seed_count
from .figdata import COLORS, SPREAD, AnyResults, experiment_frames, present
from .plots_compute import (accuracy_vs_executed_flops, accuracy_vs_flops_saved, compute_views,
                            flops_proxy_vs_executed, pareto, summary_panel)


DPI = 110
"""Resolution (dots per inch) of the PNG files ``save_all`` writes."""


# ----------------------------------------------------------------------------- the original's panels
def accuracy_full(results: AnyResults):
    """Accuracy (%) on the whole test set (``test_full``) after each logged epoch, one line per system.
    Under a reduced profile "whole" means the profile's test subset."""
    return per_epoch(results, "test_full", "Test accuracy, full test set", "accuracy (%)")


def accuracy_held_out(results: AnyResults):
    """Accuracy (%) on the held-out set (the first 100 test images per class, ``test_100``) per epoch."""
    return per_epoch(results, "test_100", "Test accuracy, held-out 100/class", "accuracy (%)")


def train_accuracy(results: AnyResults):
    """Training accuracy (%) per epoch, measured on the batches of that epoch (``train_acc``); SEL's
    stages train on slices of the data, so its curve follows the stage, not the whole training set."""
    return per_epoch(results, "train_acc", "Training accuracy (convergence)", "accuracy (%)")


def _gap(results: AnyResults, name: str):
    fig, ax = new_axes(f"Train vs test: {EXPERIMENT_TITLES[name]}", "epoch (logged)", "accuracy (%)")
    frames = experiment_frames(results, name)
    if frames:
        tr = mean_line(ax, frames, "train_acc", COLORS[name], "train")
        te = mean_line(ax, frames, "test_full", COLORS[name], "test (full)", ls="--")
        common = tr.index.intersection(te.index)
        ax.fill_between(common, tr.loc[common, "mean"], te.loc[common, "mean"], color=COLORS[name], alpha=0.10,
                        hatch="//", lw=0, label="gap (means)" if len(frames) > 1 else "gap")
        mark_stages(ax, frames[0])
    return finish(fig, ax, f"no {EXPERIMENT_TITLES[name]} run in these results", len(frames))


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
        mean_line(ax, frames, c, colour, c[len(prefix):])
    if cols:
        mark_stages(ax, frames[0])
        ax.legend(fontsize=7, ncols=2, loc="best")
        if len(frames) > 1:
            ax.set_title(f"{ax.get_title()}\n(mean of {len(frames)} seeds; shaded: {SPREAD})", fontsize=10)
        return fig
    return finish(fig, ax, f"no {EXPERIMENT_TITLES[name]} run in these results")


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
    return per_epoch(results, "sparsity", "Sparsity", "sparsity (%)", scale=100.0)


def update_density(results: AnyResults):
    """Per epoch (%): the gradient density 1 - sparsity (dashed: the fraction of gradient entries the
    mask kept) beside the update density (solid, ``update_density``: the fraction of parameter entries
    that actually changed in a step, epoch mean). Under Adam a zeroed gradient entry still moves its
    weight through the running moments, so the update density can stay far above the gradient density."""
    fig, ax = new_axes("Gradient density vs update density", "epoch (logged)", "% of parameter entries")
    for e, frames in present(results, "update_density"):
        mean_line(ax, frames, "update_density", COLORS[e], f"{EXPERIMENT_TITLES[e]}, updated", scale=100.0,
              marker=".")
        dens = [f.assign(grad_density=1.0 - f["sparsity"]) for f in frames]
        mean_line(ax, dens, "grad_density", COLORS[e], f"{EXPERIMENT_TITLES[e]}, gradient kept", scale=100.0, ls="--")
    return finish(fig, ax, "these CSVs hold no update density (update_density): the original release's format",
                   seed_count(results))


def flops_proxy(results: AnyResults):
    """Cumulative "FLOPs" as the original release counts them (``flops_T``, the proxy
    2 * params * samples * (1 - sparsity), in 1e12), log scale. Not executed work."""
    return per_epoch(results, "flops_T", "Cumulative FLOPs (the original's proxy)", "proxy FLOPs (T, log)",
                      log=True)


def training_time(results: AnyResults):
    """Cumulative wall-clock training time (s) per epoch (``time_s``; the Lottery Ticket's clock
    starts at retraining, as in the original)."""
    return per_epoch(results, "time_s", "Training time", "wall clock (s)")


def per_class_accuracy(results: AnyResults):
    """Held-out accuracy (%) of each class at each system's last epoch, grouped bars (mean over seeds,
    error bar = min-max where several seeds are given)."""
    rows = [{"class": c[4:], "system": EXPERIMENT_TITLES[e], "accuracy": df[c].iloc[-1]}
            for e, frames in present(results) for df in frames for c in df.columns if c.startswith("acc_")]
    fig, ax = new_axes("Per-class held-out accuracy (last epoch)", "", "accuracy (%)", size=(9.0, 4.0))
    if rows:
        palette = {EXPERIMENT_TITLES[e]: COLORS[e] for e in EXPERIMENTS}
        sns.barplot(pd.DataFrame(rows), x="class", y="accuracy", hue="system", palette=palette, ax=ax,
                    errorbar=("pi", 100) if seed_count(results) > 1 else None)
        ax.tick_params(axis="x", rotation=30)
    return finish(fig, ax, n=seed_count(results))


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
