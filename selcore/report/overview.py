"""The book's main result in one figure: each of the original's four experiments as a point of held-out accuracy
against executed training FLOPs (as a share of the Baseline's), in each regime this book ran and in the original's
own runs, with the original's proxy beside it."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import EXPERIMENTS
from ..paths import csv_path
from .axes import new_axes
from .figdata import COLORS
from .protocol import protocol_costs
from .regimes import REGIMES, finished
from .summary import PUBLISHED, read_history

MARKERS = {"quick": "o", "wide": "s", "original": "*"}
"""A regime's marker in the overview."""


def overview_points(results_root: str | Path, original: Path | str,
                    profiles: tuple[str, ...] = ("quick", "wide")) -> pd.DataFrame:
    """One row per experiment and regime: held-out accuracy (%) and executed and proxy training FLOPs as shares of
    the Baseline's of the same seed, means over the regime's finished seeds (n), and the original's single run
    (its executed share from the paper protocol's own counts, ``protocol.protocol_costs``) where its CSVs are in
    ``original``."""
    rows = []
    for p in profiles:
        base = finished("baseline", p, results_root)
        for e in EXPERIMENTS:
            runs = {s: h.iloc[-1] for s, h in finished(e, p, results_root).items() if s in base}
            if not runs:
                continue
            ref = {s: base[s].iloc[-1] for s in runs}
            rows.append({"experiment": e, "regime": p, "n": len(runs),
                         "held-out %": sum(r["test_100"] for r in runs.values()) / len(runs),
                         "executed, % of Baseline": sum(100 * runs[s]["exec_flops_T"] / ref[s]["exec_flops_T"]
                                                        for s in runs) / len(runs),
                         "proxy, % of Baseline": sum(100 * runs[s]["flops_T"] / ref[s]["flops_T"]
                                                     for s in runs) / len(runs)})
    if not csv_path(original, "baseline").exists():  # the original's CSVs are not in this checkout
        return pd.DataFrame(rows)
    costs = protocol_costs("paper")
    base = read_history(csv_path(original, "baseline")).iloc[-1]
    for e in EXPERIMENTS:
        last = read_history(csv_path(original, e)).iloc[-1]
        rows.append({"experiment": e, "regime": "original", "n": 1, "held-out %": float(last["test_100"]),
                     "executed, % of Baseline": float(costs.loc[e, "FLOPs, % of Baseline"]),
                     "proxy, % of Baseline": 100 * float(last["flops_T"]) / float(base["flops_T"])})
    return pd.DataFrame(rows)


def overview_figure(points: pd.DataFrame):
    """Held-out accuracy against executed training FLOPs (% of the Baseline's, log scale), one marker per regime,
    one colour per experiment; a thin arrow from each point to where the original's proxy would put it."""
    fig, ax = new_axes("Held-out accuracy against the compute actually executed",
                       "executed training FLOPs, % of the Baseline's (log scale)", "held-out accuracy (%)",
                       size=(7.2, 4.4))
    ax.set_xscale("log")
    for _, r in points.iterrows():
        color = COLORS[r["experiment"]]
        ax.scatter(r["executed, % of Baseline"], r["held-out %"], color=color, marker=MARKERS[r["regime"]],
                   s=110 if r["regime"] == "original" else 55, edgecolor="black", linewidth=0.5, zorder=3)
        if r["proxy, % of Baseline"] < 0.8 * r["executed, % of Baseline"]:
            ax.annotate("", xy=(max(r["proxy, % of Baseline"], 0.3), r["held-out %"]),
                        xytext=(r["executed, % of Baseline"], r["held-out %"]),
                        arrowprops={"arrowstyle": "->", "color": color, "alpha": 0.35, "lw": 0.8})
    for e in EXPERIMENTS:
        ax.scatter([], [], color=COLORS[e], marker="o", label=str(PUBLISHED.loc[e, "System"]))
    for regime, marker in MARKERS.items():
        label = "original (its one run)" if regime == "original" else f"{REGIMES[regime]} (mean over seeds)"
        ax.scatter([], [], color="white", edgecolor="black", marker=marker, label=label)
    ax.legend(fontsize=7, loc="center left", ncol=1, framealpha=0.9)
    ax.set_xlim(0.25, 250)
    return fig
