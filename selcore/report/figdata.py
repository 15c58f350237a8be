"""What the book's figures plot, shared by the static (``plots``, matplotlib) and interactive (``interactive``,
plotly) figures: the data, not the drawing.

A figure takes either one seed's results (experiment name -> history DataFrame, as
``selcore.report.summary.load_results`` returns them) or a list of them, one per seed (``AnyResults``).
From those: the systems present and their per-seed frames (``present``, ``experiment_frames``), the per-epoch
mean, min, max and n over the seeds (``epoch_stats``), where an SEL run's stages change (``stage_starts``), the
comparison tables of the last epochs (``comparison_table``, ``comparison_tables``) and a column's spread over
the seeds (``seed_spread``), and the one Pareto front of the book (``pareto_front``). One colour per system
(``COLORS``) and the words for what a band or error bar shows (``SPREAD``) are the same in every figure.
"""
from __future__ import annotations

import pandas as pd
import seaborn as sns

from ..config import EXPERIMENTS
from .summary import summary_table

Results = dict[str, pd.DataFrame]
"""One seed's results: experiment name -> history DataFrame."""
AnyResults = Results | list[Results]
"""One seed's results, or a list of them (one per seed)."""

COLORS = dict(zip(EXPERIMENTS, sns.color_palette("colorblind", len(EXPERIMENTS))))
"""One colour per system (an RGB tuple of floats in [0, 1]), used by every figure."""

SPREAD = "min-max over seeds"
"""What a shaded band or an error bar shows when several seeds are given."""


def as_seed_list(results: AnyResults) -> list[Results]:
    """A list of per-seed results dicts (a single dict becomes a one-element list); an empty list fails."""
    if isinstance(results, dict):
        return [results]
    seeds = list(results)
    if not seeds:
        raise ValueError("no results given (an empty list of seeds)")
    return seeds


def present(results: AnyResults, column: str | None = None) -> list[tuple[str, list[pd.DataFrame]]]:
    """``[(experiment, [its DataFrame of each seed that ran it]), ...]`` for the experiments present in any seed,
    in the book's order (``config.EXPERIMENTS``); with ``column``, only the frames that hold that column."""
    seeds = as_seed_list(results)
    out = []
    for e in EXPERIMENTS:
        frames = [r[e] for r in seeds if e in r and (column is None or column in r[e].columns)]
        if frames:
            out.append((e, frames))
    return out


def experiment_frames(results: AnyResults, name: str) -> list[pd.DataFrame]:
    """The history DataFrame of experiment ``name`` of each seed that ran it (an empty list if none did)."""
    return [r[name] for r in as_seed_list(results) if name in r]


def epoch_stats(frames: list[pd.DataFrame], column: str, x: str = "epoch") -> pd.DataFrame:
    """Per value of ``x`` (the epoch): ``mean``, ``min``, ``max`` and ``n`` of ``column`` over the
    per-seed frames that hold it."""
    cat = pd.concat([f[[x, column]] for f in frames if column in f.columns], ignore_index=True)
    g = cat.groupby(x)[column]
    return pd.DataFrame({"mean": g.mean(), "min": g.min(), "max": g.max(), "n": g.count()})


def stage_starts(df: pd.DataFrame) -> list[float]:
    """Epochs (minus one half) at which the CSV's ``stage`` column changes value; [] without a ``stage``
    column."""
    if "stage" not in df.columns:
        return []
    change = df["stage"].ne(df["stage"].shift()) & df.index.to_series().gt(df.index[0])
    return list(df.loc[change, "epoch"] - 0.5)


def comparison_table(results: AnyResults) -> pd.DataFrame:
    """What the comparison figures plot: ``summary_table`` (last epoch of each system) plus
    ``exec FLOPs saved %``, the executed training FLOPs saved vs the Baseline's (%, negative = more),
    and ``ideal FLOPs T`` (training FLOPs with perfect sparse kernels, where logged).
    Given several seeds, each numeric column is the mean over the seeds (``n`` = seeds per system)."""
    tables = comparison_tables(results)
    if len(tables) == 1:
        return tables[0]
    cat = pd.concat(tables)
    numeric = cat.drop(columns="System").apply(pd.to_numeric, errors="coerce")
    mean = numeric.groupby(level=0, sort=False).mean()
    mean["n"] = cat.groupby(level=0, sort=False)["System"].count()
    systems = cat.groupby(level=0, sort=False)["System"].first()
    mean.insert(0, "System", systems)
    return mean


def comparison_tables(results: AnyResults) -> list[pd.DataFrame]:
    """One comparison table (see ``comparison_table``) per seed."""
    tables = []
    for r in as_seed_list(results):
        table = summary_table(r)
        table["ideal FLOPs T"] = [float(r[e]["ideal_flops_T"].iloc[-1]) if "ideal_flops_T" in r[e].columns
                                  else float("nan") for e in table.index]
        table["n"] = 1
        tables.append(table)
    return tables


def seed_spread(results: AnyResults, column: str) -> pd.DataFrame:
    """Per system (the index): ``mean``, ``min``, ``max`` and ``n`` of a comparison-table column over the
    seeds."""
    cat = pd.concat(comparison_tables(results))[[column]].apply(pd.to_numeric, errors="coerce")
    g = cat.groupby(level=0, sort=False)[column]
    return pd.DataFrame({"mean": g.mean(), "min": g.min(), "max": g.max(), "n": g.count()})


def pareto_front(x: pd.Series, y: pd.Series) -> list:
    """The one Pareto front of the book: index labels of the points no other point dominates (another point
    dominates one if its x and y are both at least as large and one of them larger), sorted by x. Where a
    smaller value is better (FLOPs), pass its negation."""
    keep = [i for i in x.index
            if not any((x[j] >= x[i]) and (y[j] >= y[i]) and (x[j] > x[i] or y[j] > y[i]) for j in x.index)]
    return sorted(keep, key=lambda i: x[i])
