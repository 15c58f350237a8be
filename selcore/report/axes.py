"""The drawing primitives every figure of the book shares: its axes (whitegrid, constrained layout, closed to
pyplot), a curve as the mean over seeds with the min-max range shaded, a note inside an empty panel, and the
finishing legend and title that state n."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from ..config import EXPERIMENT_TITLES
from .figdata import COLORS, SPREAD, AnyResults, as_seed_list, epoch_stats, present, stage_starts


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


def labelled(text: str, n: int) -> str:
    return f"{text} (n={n})" if n > 1 else text


def mean_line(ax, frames: list[pd.DataFrame], column: str, color, label: str | None, x: str = "epoch",
          scale: float = 1.0, **kw):
    """The mean over seeds of ``column`` against ``x``, the min-max range shaded where n > 1."""
    s = epoch_stats(frames, column, x) * [scale, scale, scale, 1]
    n = len(frames)
    ax.plot(s.index, s["mean"], color=color, label=labelled(label, n) if label else None, **kw)
    if n > 1:
        ax.fill_between(s.index, s["min"], s["max"], color=color, alpha=0.18, lw=0)
    return s


def note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", wrap=True,
            fontsize=10, color="0.35")


def finish(fig, ax, empty_note: str | None = None, n: int = 1):
    if ax.has_data():
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        if n > 1:
            ax.set_title(f"{ax.get_title()}\n(mean of {n} seeds; shaded / bars: {SPREAD})", fontsize=10)
    else:
        note(ax, empty_note or "no data")
    return fig


def seed_count(results: AnyResults) -> int:
    return len(as_seed_list(results))


def per_epoch(results: AnyResults, column: str, title: str, ylabel: str, log: bool = False,
               empty_note: str | None = None, scale: float = 1.0):
    fig, ax = new_axes(title, "epoch (logged)", ylabel)
    for e, frames in present(results, column):
        mean_line(ax, frames, column, COLORS[e], EXPERIMENT_TITLES[e], marker=".", scale=scale)
        if log and any((f[column] > 0).any() for f in frames):
            ax.set_yscale("log")
    return finish(fig, ax, empty_note, seed_count(results))


def mark_stages(ax, df: pd.DataFrame) -> None:
    for i, x in enumerate(stage_starts(df)):
        ax.axvline(x, color="0.6", ls=":", lw=1, label="stage change" if i == 0 else None)
