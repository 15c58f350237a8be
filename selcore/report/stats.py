"""Results over several seeds: mean, standard deviation and a 95% confidence interval, and their one text form."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import stats as sps

LEVEL = 0.95
"""Coverage of every interval the book states."""


def mean_ci(values: Iterable[float], level: float = LEVEL) -> dict:
    """n, mean, sample std (ddof 1), and the t-interval mean +- t_{(1+level)/2, n-1} * std / sqrt(n)
    (Student's t quantile from ``scipy.stats.t``); NaN values are dropped. With one value the std and
    interval are NaN (no spread can be stated); equal values give std 0 and lo = hi = mean."""
    v = [float(x) for x in values if not pd.isna(x)]
    n = len(v)
    if n == 0:
        return {"n": 0, "mean": math.nan, "std": math.nan, "lo": math.nan, "hi": math.nan}
    m = sum(v) / n
    if n == 1:
        return {"n": 1, "mean": m, "std": math.nan, "lo": math.nan, "hi": math.nan}
    if max(v) - min(v) <= 1e-12 * max(1.0, abs(m)):
        # equal values (e.g. a FLOP count that no seed changes): no spread, not rounding noise
        return {"n": n, "mean": v[0], "std": 0.0, "lo": v[0], "hi": v[0]}
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1))
    half = float(sps.t.ppf((1 + level) / 2, n - 1)) * sd / math.sqrt(n)
    return {"n": n, "mean": m, "std": sd, "lo": m - half, "hi": m + half}


def epoch_seconds(histories: Iterable[pd.DataFrame]) -> pd.Series:
    """Wall time (s) of every epoch of the histories, each run's first epoch left out (it pays the warm-up): epoch
    k's seconds are time_s[k] - time_s[k-1] of its ``hist_<experiment>.csv`` (cumulative training time)."""
    seconds = [np.diff(h["time_s"].to_numpy(float)) for h in histories]
    return pd.Series(np.concatenate(seconds) if seconds else [], name="epoch_s", dtype=float)


def epoch_spread_text(seconds: pd.Series) -> str:
    """'from a to b s (median m s; the slowest (b/a - 1)% above the fastest), over n epochs' of ``epoch_seconds``."""
    if seconds.empty:
        return "not measured (no run with two epochs)"
    lo, med, hi = seconds.min(), seconds.median(), seconds.max()
    return (f"from {lo:.1f} to {hi:.1f} s (median {med:.1f} s; the slowest {100 * (hi / lo - 1):.0f}% above the "
            f"fastest), over {len(seconds)} epochs")


def seed_folders(root: Path | str) -> list[Path]:
    """The per-seed results folders ``<root>/seed<k>`` in seed order."""
    found = [p for p in Path(root).glob("seed*") if p.is_dir() and p.name[4:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[4:]))


def over_seeds(tables: list[pd.DataFrame], columns: Iterable[str]) -> pd.DataFrame:
    """For per-seed tables indexed alike (e.g. summary tables), one row per index of any of them (in order of
    appearance) with ``<col>`` (mean), ``<col> std``, ``<col> lo``, ``<col> hi`` and ``n`` (the tables holding it)."""
    rows = {}
    for idx in dict.fromkeys(i for t in tables for i in t.index):
        row = {}
        for col in columns:
            s = mean_ci(t.loc[idx, col] for t in tables if idx in t.index)
            row[col], row[f"{col} std"], row[f"{col} lo"], row[f"{col} hi"] = s["mean"], s["std"], s["lo"], s["hi"]
            row["n"] = s["n"]
        rows[idx] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def format_number(x: float, digits: int = 1, sig: int | None = None, grouping: bool = False) -> str:
    """``x`` with ``digits`` decimals, or ``sig`` significant figures when given (format ``g``), thousands
    separated by commas with ``grouping``; 'n/a' for NaN, and a value that rounds to zero without a sign
    ('0.0', not '-0.0')."""
    if pd.isna(x):
        return "n/a"
    spec = f"{',' if grouping else ''}.{sig}g" if sig is not None else f"{',' if grouping else ''}.{digits}f"
    text = f"{x:{spec}}"
    return text[1:] if text.startswith("-") and float(text.replace(",", "")) == 0 else text


def format_minutes(seconds: float) -> str:
    """A duration in whole minutes, as text: 'under a minute' below 30 s, '1 minute', else 'N minutes'."""
    m = round(seconds / 60)
    return "under a minute" if m < 1 else f"{m} minute" + ("" if m == 1 else "s")


def format_ci(mean: float, lo: float = math.nan, hi: float = math.nan, n: int | None = None,
              std: float | None = None, digits: int = 1, sig: int | None = None, grouping: bool = False) -> str:
    """The one text form of a statistic over seeds: 'mean [lo, hi] (n=k)'; with ``std`` given
    'mean ± std [lo, hi] (n=k)'; without an interval (one seed, NaN bounds) the brackets and the std are left
    out; with ``n`` None the '(n=k)' is left out (a table stating n once). Numbers as ``format_number``
    (``digits`` decimals, or ``sig`` significant figures)."""
    def num(x: float) -> str:
        return format_number(x, digits, sig, grouping)

    text = num(mean)
    if not pd.isna(mean) and not pd.isna(lo) and not pd.isna(hi) and (n is None or n > 1):
        text += (f" ± {num(std)}" if std is not None else "") + f" [{num(lo)}, {num(hi)}]"
    return text + (f" (n={int(n)})" if n is not None else "")


def format_columns(stats: pd.DataFrame, formats: Mapping[str, Mapping], titles: Mapping[str, str] | None = None,
                   std: bool = False) -> pd.DataFrame:
    """A table of statistics over seeds as text: one ``format_ci`` cell per row and column of ``formats``
    (column -> keyword arguments of ``format_ci`` such as ``{"digits": 1}`` or ``{"sig": 3}``), read from
    ``<col>``, ``<col> lo``, ``<col> hi`` (and ``<col> std`` with ``std``) as ``over_seeds`` writes them, and
    the row's number of seeds once, in a last column ``n``. Columns absent from ``stats`` are skipped and the
    others renamed by ``titles``."""
    titles = titles or {}
    out = pd.DataFrame(index=stats.index)
    for col, fmt in formats.items():
        if col in stats:
            out[titles.get(col, col)] = [format_ci(r[col], r[f"{col} lo"], r[f"{col} hi"],
                                                   std=r[f"{col} std"] if std else None, **fmt)
                                         for _, r in stats.iterrows()]
    out["n"] = stats["n"].astype(int).to_numpy()
    return out
