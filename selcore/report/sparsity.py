"""The sparsity study read back (``engine.sparsity``'s points table): each cell over its seeds, the plans page's
decision rule, and which factor decides.

The rule (book/plans.md, written 2026-12-02 before any point was run): a cell *reaches the original's regime*
when the lower end of its 95% interval for the first-epoch sparsity (``stats.mean_ci`` on the logit scale) is at
least ``RULE`` = 0.95; a factor *decides* the sparsity when changing that factor alone moves a cell from not reaching
the regime to reaching it.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .stats import FRACTION, NONNEGATIVE, format_ci, mean_ci, seed_values

RULE = 0.95
"""The share of gradient entries the name SEL-95 promises: the decision rule's threshold on the interval's lower end."""
FACTORS = ("width", "start", "calibration")
CALIBRATION_TITLES = {"eval": "eval mode, augmented (the original's)",
                      "train": "train mode, clean (this project's earlier)"}


def read_points(path: Path | str) -> pd.DataFrame:
    """The study's points table (``engine.sparsity.points_path``)."""
    return pd.read_csv(path)


def cells(points: pd.DataFrame) -> pd.DataFrame:
    """One row per (width, start, calibration): n, the per-seed sparsities (in seed order), their mean and 95%
    interval (``mean_ci`` with ``FRACTION`` bounds), the per-seed gamma0's median, and ``reaches`` (the rule)."""
    rows = []
    for (w, s, c), part in points.sort_values("seed").groupby(list(FACTORS), sort=True):
        st = mean_ci(part["sparsity"], bounds=FRACTION)
        g = mean_ci(part["gamma0"], bounds=NONNEGATIVE)
        rows.append({"width": int(w), "start": s, "calibration": c, "n": st["n"], "seeds": list(part["seed"]),
                     "values": st["values"], "mean": st["mean"], "lo": st["lo"], "hi": st["hi"],
                     "gamma0 median": float(part["gamma0"].median()), "gamma0 mean": g["mean"],
                     "reaches": bool(st["n"] > 1 and st["lo"] >= RULE)})
    return pd.DataFrame(rows)


def deciding(table: pd.DataFrame) -> dict[str, list[str]]:
    """Per factor, each pair of cells that differ in that factor alone where one reaches the regime and the other
    does not, as text ('width 32 -> 64 at stand-in, eval'); an empty list: the factor decides nothing here."""
    out: dict[str, list[str]] = {f: [] for f in FACTORS}
    for f in FACTORS:
        others = [g for g in FACTORS if g != f]
        for key, part in table.groupby(others):
            key = key if isinstance(key, tuple) else (key,)
            part = part.sort_values(f)
            for a in part.itertuples():
                for b in part.itertuples():
                    if not a.reaches and b.reaches:
                        where = ", ".join(str(k) for k in key)
                        out[f].append(f"{f} {getattr(a, f)} -> {getattr(b, f)} at {where}")
    return out


def cell_table(table: pd.DataFrame) -> pd.DataFrame:
    """The cells for the page: sparsity in % as 'mean [lo, hi]', per-seed values, n, median gamma0, the rule."""
    return pd.DataFrame({
        "width": table["width"], "start": table["start"],
        "calibration": table["calibration"].map(CALIBRATION_TITLES),
        "first-epoch sparsity % [95% CI]": [format_ci(100 * r.mean, 100 * r.lo, 100 * r.hi)
                                            for r in table.itertuples()],
        "per seed %": [seed_values([100 * v for v in r.values]) for r in table.itertuples()],
        "n": table["n"],
        "median gamma0": [f"{g:.1e}" for g in table["gamma0 median"]],
        f"lower end >= {100 * RULE:.0f}%": ["yes" if r else "no" for r in table["reaches"]]})


def best_cell(table: pd.DataFrame) -> pd.Series:
    """The cell with the highest lower interval end (the closest to the rule)."""
    return table.loc[table["lo"].fillna(-1).idxmax()]
