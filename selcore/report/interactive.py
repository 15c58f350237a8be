"""Interactive (plotly) versions of three of the book's figures, for the built HTML book.

Each function takes what the static figure it mirrors takes (``selcore.report.plots``: one seed's dict of
experiment name -> history DataFrame, or a list of them, one per seed) and returns an ``Interactive``, which
Jupyter and the built book show as an HTML ``<div>``: hovering a point gives its values, clicking a legend
entry hides or shows that series. Given several seeds, a curve or point is the mean over the seeds and its band
or error bar the min-max range across them, as in the static figures, which stay; what they plot and their colours
(``COLORS``) are the static figures' own, from ``selcore.report.figdata``.

plotly.js is not embedded in the figure's HTML: the book's Sphinx extension ``selcore.book.sphinx_ext`` ships
one copy of it with the build and loads it once on each page that holds a figure. A live Jupyter session
that has not loaded plotly.js (``plotly.offline.init_notebook_mode()``) shows an empty ``<div>``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import seaborn as sns
from plotly.subplots import make_subplots

from ..config import EXPERIMENT_TITLES
from .figdata import (COLORS, SPREAD, AnyResults, as_seed_list, epoch_stats, experiment_frames, pareto_front,
                      present, seed_spread, stage_starts)

HEIGHT = 440
"""Height of every interactive figure (pixels); the width follows the page."""

BAND_ALPHA = 0.18
"""Opacity of a min-max band (the static figures' shading)."""

PLOTLY_CONFIG = {"responsive": True, "displaylogo": False}
"""plotly.js options of every figure: resize with the page, no plotly logo in the toolbar."""

_div_ids = itertools.count(1)


@dataclass(frozen=True)
class Interactive:
    """A plotly figure that Jupyter displays as HTML (``_repr_html_``), without plotly.js itself.

    The ``<div>``'s id is ``selcore-plot-<k>``, k counting the figures rendered in this process, so that
    re-executing a chapter reproduces its output and two figures on one page never share an id."""

    figure: go.Figure

    def _repr_html_(self) -> str:
        return self.figure.to_html(full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG,
                                   div_id=f"selcore-plot-{next(_div_ids)}", default_width="100%",
                                   default_height=f"{self.figure.layout.height or HEIGHT}px")

    def __repr__(self) -> str:
        return f"Interactive({self.figure.layout.title.text!r})"


def _rgba(color, alpha: float = 1.0) -> str:
    """A matplotlib/seaborn RGB colour (floats in [0, 1]) as a CSS ``rgba(...)`` string."""
    r, g, b = (round(255 * c) for c in color[:3])
    return f"rgba({r},{g},{b},{alpha})"


def _layout(fig: go.Figure, title: str, n: int, spread: str = f"shaded: {SPREAD}", height: int = HEIGHT) -> Interactive:
    """Title (with the number of seeds and what the spread shows, where n > 1), template and height."""
    if n > 1:
        title = f"{title}<br><sup>mean of {n} seeds; {spread}</sup>"
    fig.update_layout(title_text=title, template="plotly_white", height=height, hovermode="closest",
                      legend={"groupclick": "togglegroup"})
    if not fig.data:
        fig.add_annotation(text="no data", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return Interactive(fig)


def _hover(label: str) -> str:
    """Hover text of a point whose customdata is (min, max, n) over the seeds."""
    return (f"{label}<br>epoch %{{x}}<br>mean %{{y:.4g}}<br>min-max %{{customdata[0]:.4g}} to "
            "%{customdata[1]:.4g} (n=%{customdata[2]})<extra></extra>")


def _mean_trace(stats: pd.DataFrame, name: str, color: str, group: str, **kw) -> go.Scatter:
    """The mean over seeds per epoch (``epoch_stats`` rows), min, max and n in its hover."""
    return go.Scatter(x=stats.index.to_numpy(), y=stats["mean"].to_numpy(), name=name, legendgroup=group,
                      mode="lines+markers", line={"color": color}, marker={"size": 6},
                      customdata=stats[["min", "max", "n"]].to_numpy(), hovertemplate=_hover(name), **kw)


def _band_traces(stats: pd.DataFrame, color, group: str) -> list[go.Scatter]:
    """The min-max range over seeds per epoch: the max line, then the min line filled up to it."""
    common = dict(x=stats.index.to_numpy(), legendgroup=group, showlegend=False, hoverinfo="skip",
                  mode="lines", line={"width": 0})
    return [go.Scatter(y=stats["max"].to_numpy(), **common),
            go.Scatter(y=stats["min"].to_numpy(), fill="tonexty", fillcolor=_rgba(color, BAND_ALPHA), **common)]


def accuracy_held_out(results: AnyResults) -> Interactive:
    """Held-out accuracy (%, ``test_100``: the first 100 test images per class) after each logged epoch, one
    series per system (``plots.accuracy_held_out``): the mean over the seeds, the min-max range across them
    shaded where n > 1; the legend toggles a system's line and band together."""
    fig = go.Figure()
    for e, frames in present(results, "test_100"):
        stats = epoch_stats(frames, "test_100")
        if len(frames) > 1:
            fig.add_traces(_band_traces(stats, COLORS[e], e))
        fig.add_trace(_mean_trace(stats, EXPERIMENT_TITLES[e], _rgba(COLORS[e]), e))
    fig.update_xaxes(title_text="epoch (logged)", dtick=1)
    fig.update_yaxes(title_text="accuracy (%)")
    return _layout(fig, "Test accuracy, held-out 100/class", len(as_seed_list(results)))


def pareto_executed(results: AnyResults) -> Interactive:
    """Held-out accuracy (%) at each system's last epoch against its cumulative executed training FLOPs
    (``exec_flops_T``, in 1e12, log scale; the CSV's count, which includes prior work such as the Lottery
    Ticket's pretraining and SEL's scoring): one point per system at the means over the seeds, error bars the
    min-max range across them on both axes. The dashed line joins the systems that no other system beats
    on both axes (fewer executed FLOPs and higher accuracy), of the means. Systems whose CSVs hold no
    executed FLOPs (the original release's) are left out."""
    fig = go.Figure()
    flops, acc = seed_spread(results, "exec FLOPs T"), seed_spread(results, "100/class")
    shown = flops.index[flops["mean"].notna()]
    for e in shown:
        x, y = flops.loc[e], acc.loc[e]
        fig.add_trace(go.Scatter(
            x=[x["mean"]], y=[y["mean"]], name=EXPERIMENT_TITLES[e], mode="markers",
            marker={"color": _rgba(COLORS[e]), "size": 12, "line": {"color": "black", "width": 1}},
            error_x={"type": "data", "array": [x["max"] - x["mean"]], "arrayminus": [x["mean"] - x["min"]]},
            error_y={"type": "data", "array": [y["max"] - y["mean"]], "arrayminus": [y["mean"] - y["min"]]},
            customdata=[[x["min"], x["max"], y["min"], y["max"], int(x["n"])]],
            hovertemplate=(f"{EXPERIMENT_TITLES[e]}<br>executed FLOPs %{{x:.4g}} T (min-max %{{customdata[0]:.4g}}"
                           " to %{customdata[1]:.4g})<br>held-out accuracy %{y:.2f}% (min-max "
                           "%{customdata[2]:.2f} to %{customdata[3]:.2f})<br>n=%{customdata[4]}<extra></extra>")))
    if len(shown) > 1:
        front = pareto_front(-flops.loc[shown, "mean"], acc.loc[shown, "mean"])
        fig.add_trace(go.Scatter(x=flops.loc[front, "mean"].to_numpy(), y=acc.loc[front, "mean"].to_numpy(),
                                 name="Pareto front", mode="lines", line={"color": "grey", "dash": "dash"},
                                 hoverinfo="skip"))
    fig.update_xaxes(title_text="executed training FLOPs (T, log)", type="log")
    fig.update_yaxes(title_text="held-out accuracy (%)")
    return _layout(fig, "Pareto: accuracy vs executed FLOPs (last epoch)", len(as_seed_list(results)),
                   f"bars: {SPREAD}")


SIGNALS = (("E_", "Per-class embarrassment E_c"), ("C_", "Per-class confidence C_c"))
"""The two per-class signals an SEL run logs: CSV column prefix and panel title."""


def class_signals(results: AnyResults, name: str = "sel95") -> Interactive:
    """An SEL run's per-class embarrassment E_c (left) and confidence C_c = max(0, 1 - E_c) (right) per
    logged epoch, one line per class in both panels (``plots.embarrassment_sel95`` / ``confidence_sel95``,
    same class colours): the mean over the seeds, min-max and n in the hover (no bands: twenty would hide
    the lines); the legend toggles a class in both panels; dotted lines mark the stage changes (of the
    first seed; every seed has the same plan)."""
    frames = experiment_frames(results, name)
    fig = make_subplots(rows=1, cols=2, subplot_titles=[title for _, title in SIGNALS], horizontal_spacing=0.08)
    classes = [c[2:] for c in (frames[0].columns if frames else []) if c.startswith(SIGNALS[0][0])]
    for cls, color in zip(classes, sns.color_palette("tab10", len(classes))):
        for col, (prefix, _) in enumerate(SIGNALS, start=1):
            stats = epoch_stats(frames, prefix + cls)
            fig.add_trace(_mean_trace(stats, cls, _rgba(color), cls, showlegend=col == 1), row=1, col=col)
    for x in stage_starts(frames[0]) if classes else []:
        fig.add_vline(x=x, line={"color": "grey", "dash": "dot", "width": 1})
    fig.update_xaxes(title_text="epoch (logged)", dtick=1)
    fig.update_yaxes(title_text="E_c", row=1, col=1)
    fig.update_yaxes(title_text="C_c", row=1, col=2)
    fig.update_layout(legend={"orientation": "h", "y": -0.22})   # ten classes below the panels, none hidden
    return _layout(fig, f"Per-class signals: {EXPERIMENT_TITLES[name]}", len(frames), "hover: min-max over seeds",
                   height=HEIGHT + 80)
