"""Tables and figures of the ablations chapter: where do SEL's savings come from?

A *system* is one trained configuration: the four experiments, the five ablations
(``selcore.config.ABLATIONS``) and ``sel95_sgd``, SEL-95 trained with plain SGD instead of Adam. Over
seeds, a system's numbers are the last CSV rows of its runs, one per seed (``last_rows``), summarised as
mean and 95% t-interval (``summary_stats``, ``format_summary``).

Each figure function returns a matplotlib ``Figure`` created through pyplot and at once released from
pyplot's list of open figures (a notebook shows it once, as a cell's value; nothing needs closing). A figure
with nothing to show says so inside itself instead of failing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.ticker import MaxNLocator

from ..config import ABLATIONS, EXPERIMENTS, EXPERIMENT_TITLES
from ..engine.results import read_json
from ..paths import csv_path, run_json_path
from .figdata import pareto_front
from .axes import new_axes
from .stats import Bounds, bounds_of, format_columns, mean_ci
from .summary import read_history

SYSTEMS = EXPERIMENTS + ABLATIONS + ("sel95_sgd",)
"""Every system of the chapter, in the order tables and legends list them."""

TITLES = {**EXPERIMENT_TITLES, "sel95_sgd": "SEL-95% (SGD)"}
"""Display name of each system."""

COLORS = dict(zip(SYSTEMS, list(sns.color_palette("colorblind", 10)) + list(sns.color_palette("dark", 10))))
"""One colour per system (the four experiments keep the colours of ``selcore.report.figdata``)."""

MEASURES = {"test_100": "held-out acc. %", "test_full": "full test acc. %", "exec_flops_T": "executed FLOPs T",
            "ideal_flops_T": "ideal FLOPs T", "flops_T": "proxy FLOPs T", "samples_seen": "images seen",
            "time_s": "time s", "time_total_s": "time incl. prior s"}
"""The per-run measures of ``last_rows`` and their column titles in ``format_summary``."""

MEASURE_FORMATS = {"test_100": {"digits": 1}, "test_full": {"digits": 1}, "exec_flops_T": {"digits": 4},
                   "ideal_flops_T": {"digits": 4}, "flops_T": {"digits": 4}, "samples_seen": {"digits": 0},
                   "time_s": {"digits": 0}, "time_total_s": {"digits": 0}}
"""How ``format_summary`` writes each measure (keyword arguments of ``stats.format_ci``)."""



def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", wrap=True, fontsize=10,
            color="0.35")


# ----------------------------------------------------------------------------- tables
def last_rows(runs: Iterable[tuple[str, str, int, Path | str]]) -> pd.DataFrame:
    """One row per run from ``(system, experiment, seed, folder)``: the last CSV row's measures of
    ``MEASURES`` plus ``time_total_s`` = ``time_s`` + the prior work's time recorded in
    ``run_<experiment>.json`` (SEL's difficulty scoring, the Lottery Ticket's pretraining). Runs whose CSV
    is missing are left out. Columns: system, seed, the measures."""
    rows = []
    for system, experiment, seed, folder in runs:
        path = csv_path(folder, experiment)
        if not path.exists():
            continue
        last = read_history(path).iloc[-1]
        row = {"system": system, "seed": int(seed)}
        for col in MEASURES:
            if col != "time_total_s":
                row[col] = float(last[col]) if col in last.index else float("nan")
        info = run_json_path(folder, experiment)
        prior = (read_json(info).get("prior_cost") or {}) if info.exists() else {}
        row["time_total_s"] = row["time_s"] + float(prior.get("time_s", 0.0))
        rows.append(row)
    return pd.DataFrame(rows, columns=["system", "seed", *MEASURES])


def summary_stats(rows: pd.DataFrame, columns: Sequence[str] = tuple(MEASURES)) -> pd.DataFrame:
    """Per system (in ``SYSTEMS`` order): ``<col>`` (mean over seeds), ``<col> lo``, ``<col> hi`` (95%
    t-interval, NaN with one seed) for each column, and ``n`` (seeds)."""
    out = {}
    for system in [s for s in SYSTEMS if s in set(rows["system"])] + \
            sorted(set(rows["system"]) - set(SYSTEMS)):
        sub = rows[rows["system"] == system]
        row = {}
        for col in columns:
            s = mean_ci(sub[col], bounds=bounds_of(col))
            row[col], row[f"{col} lo"], row[f"{col} hi"] = s["mean"], s["lo"], s["hi"]
        row["n"] = len(sub)
        out[system] = row
    return pd.DataFrame.from_dict(out, orient="index")


def format_summary(stats: pd.DataFrame, columns: Sequence[str] = tuple(MEASURES)) -> pd.DataFrame:
    """``summary_stats`` as text (``stats.format_columns``): 'mean [lo, hi]' per column, digits suited to the
    measure (``MEASURE_FORMATS``, thousands separated), the number of seeds ``n``, one row per system titled as
    in ``TITLES``."""
    formats = {c: {"digits": 2, **MEASURE_FORMATS.get(c, {}), "grouping": True} for c in columns}
    table = format_columns(stats, formats, MEASURES)
    table.index = [TITLES.get(s, s) for s in stats.index]
    return table


# ----------------------------------------------------------------------------- figures
def pareto_executed(rows: pd.DataFrame):
    """Held-out accuracy (%) against executed training FLOPs (T, log scale, prior work included), one
    colour per system: each seed a small dot, the mean over seeds a large marker with its 95% interval as
    error bars (none with one seed; circles: the four experiments, squares: the ablations, diamond: SGD); the dashed line joins the systems whose mean no other system beats on
    both axes (fewer FLOPs and higher accuracy)."""
    fig, ax = new_axes("Held-out accuracy vs executed training FLOPs", "executed training FLOPs (T, log)",
                   "held-out accuracy (%)", size=(7.6, 5.0))
    rows = rows.dropna(subset=["exec_flops_T", "test_100"])
    if rows.empty:
        _note(ax, "no runs with executed FLOPs to show")
        return fig
    stats = summary_stats(rows, ("exec_flops_T", "test_100"))
    for system, r in stats.iterrows():
        c = COLORS.get(system, "0.3")
        seeds = rows[rows["system"] == system]
        ax.scatter(seeds["exec_flops_T"], seeds["test_100"], s=14, color=c, alpha=0.45, edgecolor="none")
        xerr = None if pd.isna(r["exec_flops_T lo"]) else \
            [[r["exec_flops_T"] - r["exec_flops_T lo"]], [r["exec_flops_T hi"] - r["exec_flops_T"]]]
        yerr = None if pd.isna(r["test_100 lo"]) else \
            [[r["test_100"] - r["test_100 lo"]], [r["test_100 hi"] - r["test_100"]]]
        marker = "o" if system in EXPERIMENTS else "D" if system == "sel95_sgd" else "s"
        ax.errorbar(r["exec_flops_T"], r["test_100"], xerr=xerr, yerr=yerr, fmt=marker, ms=8, color=c, alpha=0.85,
                    mec="k", capsize=3, label=f"{TITLES.get(system, system)} (n={int(r['n'])})")
    front = pareto_front(-stats["exec_flops_T"], stats["test_100"])  # fewer FLOPs is better
    if len(front) > 1:
        ax.plot(stats.loc[front, "exec_flops_T"], stats.loc[front, "test_100"], ls="--", color="0.4",
                lw=1, label="front of the means")
    ax.set_xscale("log")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def density_per_epoch(histories: Mapping[str, Sequence[pd.DataFrame]]):
    """Per logged epoch, for each named set of runs (e.g. ``{"sel95": [...], "sel95_sgd": [...]}``, one
    history per seed): the gradient density 1 - ``sparsity`` (fraction of gradient entries the guilt mask
    kept, solid) and the ``update_density`` (fraction of weights that changed in a step, dashed), both in
    %, mean over seeds with the seeds' range shaded. Where the dashed line lies above the solid one, weights
    moved although their gradient entry was zeroed. Circles mark entries kept, crosses weights changed, so
    that coinciding lines stay visible."""
    fig, ax = new_axes("Gradient entries kept vs weights changed, per epoch", "epoch (logged)",
                   "% of entries / weights", size=(7.2, 4.2))
    for name, hists in histories.items():
        hists = [h for h in hists if {"sparsity", "update_density"} <= set(h.columns)]
        if not hists:
            continue
        c = COLORS.get(name, "0.3")
        for col, ls, mk, what in (("sparsity", "-", "o", "gradient kept (1 - sparsity)"),
                                  ("update_density", "--", "x", "weights changed")):
            frame = pd.concat([h.set_index("epoch")[col].rename(i) for i, h in enumerate(hists)], axis=1)
            if col == "sparsity":
                frame = 1 - frame
            frame = 100 * frame
            ax.plot(frame.index, frame.mean(axis=1), ls=ls, marker=mk, ms=5 if mk == "o" else 8, color=c,
                    label=f"{TITLES.get(name, name)}: {what} (n={len(hists)})")
            if len(hists) > 1:
                ax.fill_between(frame.index, frame.min(axis=1), frame.max(axis=1), color=c, alpha=0.15)
    if not ax.has_data():
        _note(ax, "no run logged sparsity and update density")
        return fig
    ax.set_ylim(0, 105)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7, loc="best")
    return fig


def rank_agreement_bars(table: pd.DataFrame):
    """Per class, the Spearman correlation between the scorer's per-sample loss and the trained
    Baseline's: ``table`` has one row per class and one column per seed; bars = the mean over seeds
    with its 95% interval (none with one seed), dots = the seeds. 1 = the same order, 0 = unrelated."""
    fig, ax = new_axes("Does the scorer's order agree with a trained model's?", "",
                   "Spearman rho (scorer loss vs trained Baseline loss)", size=(8.0, 4.0))
    if table.empty:
        _note(ax, "no stored order agreement to show")
        return fig
    stats = pd.DataFrame([mean_ci(table.loc[c], bounds=Bounds(-1.0, 1.0)) for c in table.index], index=table.index)
    x = np.arange(len(table.index))
    err = None
    if stats["lo"].notna().all():
        err = [stats["mean"] - stats["lo"], stats["hi"] - stats["mean"]]
    ax.bar(x, stats["mean"], yerr=err, capsize=3, color=COLORS["baseline"], alpha=0.7,
           label=f"mean over seeds (n={table.shape[1]})")
    for k, seed in enumerate(table.columns):
        ax.scatter(x + (k - (table.shape[1] - 1) / 2) * 0.12, table[seed], s=14, color="k", zorder=3,
                   label="per seed" if k == 0 else None)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(x, table.index, rotation=30)
    ax.set_ylim(-1.0, 1.0)
    ax.legend(fontsize=8)
    return fig


def difficulty_grid(images: torch.Tensor, picks: Mapping[str, Mapping[str, Sequence[int]]], classes: Sequence[str]):
    """An image grid: one row per class; for each named order in ``picks`` (e.g. ``{"scorer": ...,
    "trained Baseline": ...}``, each mapping a class to the training indices of its k easiest then its k
    hardest images, as ``selcore.engine.difficulty.extremes`` gives them) those 2k images. ``images`` are
    uint8 (N, 3, 32, 32) in the training set's order. Without picks the figure says so."""
    names = list(picks)
    k = max((len(v) for p in picks.values() for v in p.values()), default=0) // 2
    if not names or not k:
        fig, ax = new_axes("Easiest and hardest training images", "", "")
        ax.set_axis_off()
        _note(ax, "no stored difficulty orders to show")
        return fig
    ncol = 2 * k * len(names)
    fig = plt.figure(figsize=(0.75 * ncol + 1.2, 0.8 * len(classes) + 0.8), layout="constrained")
    plt.close(fig)
    axes = np.asarray(fig.subplots(len(classes), ncol, squeeze=False))
    for c, cls in enumerate(classes):
        for o, name in enumerate(names):
            chosen = list(picks[name].get(cls, []))
            for j in range(2 * k):
                ax = axes[c, o * 2 * k + j]
                ax.set_xticks([])
                ax.set_yticks([])
                for side in ax.spines.values():
                    side.set_visible(False)
                if j < len(chosen):
                    ax.imshow(images[chosen[j]].permute(1, 2, 0).cpu().numpy())
                if c == 0:
                    ax.set_title(f"{name}\n{'easiest' if j < k else 'hardest'}" if j in (0, k) else "",
                                 fontsize=7, loc="left")
            if o == 0:
                axes[c, 0].set_ylabel(cls, fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle(f"The {k} easiest and {k} hardest training images of each class, by each order", fontsize=10)
    return fig
