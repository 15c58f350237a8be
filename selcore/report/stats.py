"""Results over several seeds: mean, standard deviation and a 95% confidence interval."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import pandas as pd

# two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042]


def t975(df: int) -> float:
    """Student's t quantile for a two-sided 95% interval with ``df`` degrees of freedom (1.96 beyond 30)."""
    return _T975[df - 1] if 1 <= df <= 30 else 1.96


def mean_ci(values: Iterable[float]) -> dict:
    """n, mean, sample std (ddof 1), and the 95% t-interval mean +- t975(n-1) * std / sqrt(n);
    with one value the std and interval are NaN (no spread can be stated)."""
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
    half = t975(n - 1) * sd / math.sqrt(n)
    return {"n": n, "mean": m, "std": sd, "lo": m - half, "hi": m + half}


def seed_folders(root: Path | str) -> list[Path]:
    """The per-seed results folders ``<root>/seed<k>`` in seed order."""
    found = [p for p in Path(root).glob("seed*") if p.is_dir() and p.name[4:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[4:]))


def over_seeds(tables: list[pd.DataFrame], columns: Iterable[str]) -> pd.DataFrame:
    """For per-seed tables indexed alike (e.g. summary tables), one row per index with
    ``<col>`` (mean), ``<col> std``, ``<col> lo``, ``<col> hi`` and ``n``."""
    rows = {}
    for idx in tables[0].index:
        row = {}
        for col in columns:
            s = mean_ci(t.loc[idx, col] for t in tables if idx in t.index)
            row[col], row[f"{col} std"], row[f"{col} lo"], row[f"{col} hi"] = s["mean"], s["std"], s["lo"], s["hi"]
            row["n"] = s["n"]
        rows[idx] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def format_mean_ci(mean: float, lo: float, hi: float, n: int, digits: int = 1) -> str:
    """'m [lo, hi] (n=k)', or 'm (n=1)' where no interval exists; a value that rounds to zero is
    written without a sign ('0.0', not '-0.0')."""
    def fmt(x: float) -> str:
        text = f"{x:.{digits}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text

    if n <= 1 or pd.isna(lo):
        return f"{fmt(mean)} (n={n})"
    return f"{fmt(mean)} [{fmt(lo)}, {fmt(hi)}] (n={n})"
