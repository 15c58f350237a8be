"""The sparsity study read back (``studies.sparsity_study``'s points table): each cell over its seeds, the plans page's
decision rule, and which factor decides.

The rule (fixed on the book's plans page, book/plans.md): a cell *reaches the original's regime*
when the lower end of its 95% interval for the first-epoch sparsity (``stats.mean_ci`` on the logit scale) is at
least ``RULE`` = 0.95; a factor *decides* the sparsity when changing that factor alone moves a cell from not reaching
the regime to reaching it.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .stats import FRACTION, format_ci, mean_ci, seed_values

RULE = 0.95
"""The share of gradient entries the name SEL-95 promises: the decision rule's threshold on the interval's lower end."""
FACTORS = ("width", "start", "calibration")
STARTS = ("scratch", "stand-in")
CALIBRATION_TITLES = {"eval": "eval mode, augmented (the original's)",
                      "train": "train mode, clean (this project's earlier)"}


def read_points(path: Path | str) -> pd.DataFrame:
    """The study's points table (``studies.sparsity_study.points_path``)."""
    return pd.read_csv(path)


CELL_COLUMNS = [*FACTORS, "n", "seeds", "values", "mean", "lo", "hi", "gamma0 median", "reaches"]


def cells(points: pd.DataFrame) -> pd.DataFrame:
    """One row per (width, start, calibration): n, the per-seed sparsities (in seed order), their mean and 95%
    interval (``mean_ci`` with ``FRACTION`` bounds), the per-seed gamma0's median, and ``reaches`` (the rule)."""
    rows = []
    for (w, s, c), part in points.sort_values("seed").groupby(list(FACTORS), sort=True):
        st = mean_ci(part["sparsity"], bounds=FRACTION)
        rows.append({"width": int(w), "start": s, "calibration": c, "n": st["n"], "seeds": list(part["seed"]),
                     "values": st["values"], "mean": st["mean"], "lo": st["lo"], "hi": st["hi"],
                     "gamma0 median": float(part["gamma0"].median()),
                     "reaches": bool(st["n"] > 1 and st["lo"] >= RULE)})
    return pd.DataFrame(rows, columns=CELL_COLUMNS)


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


def _span(diffs: list[float]) -> str:
    """'a to b' over the differences' sizes where they share a sign (the sentence names the direction), else signed."""
    if max(diffs) < 0 or min(diffs) > 0:
        diffs = [abs(d) for d in diffs]
    lo, hi = min(diffs), max(diffs)
    return f"{lo:.1f}" if abs(hi - lo) < 0.05 else f"{lo:.1f} to {hi:.1f}"


def _contrast(diffs: list[float], subject: str, against: str, where: str, none: str) -> str:
    """'<subject> lowered|raised|moved the mean against <against>, by a to b percentage points at each <where>'."""
    if not diffs:
        return none
    way = "lowered" if max(diffs) < 0 else "raised" if min(diffs) > 0 else "moved"
    return f"{subject} {way} the mean against {against}, by {_span(diffs)} percentage points at each {where}"


def effects(table: pd.DataFrame) -> dict[str, str]:
    """What each factor did to the cells' mean first-epoch sparsity, as sentences computed from ``table`` (no
    verdict: the rule's reading is ``deciding``): ``width`` (from scratch, per calibration rule: whether the mean
    rose with every step in width), ``start`` (stand-in minus scratch, percentage points, at every width and rule)
    and ``calibration`` (train minus eval, at every width and start)."""
    m = table.set_index(list(FACTORS))["mean"] * 100
    widths = sorted(table["width"].unique())
    out = {}
    rules = sorted(table["calibration"].unique())
    rising = {}
    for cal in rules:
        seq = [m.get((w, "scratch", cal)) for w in widths]
        if None not in seq and len(seq) > 1:
            rising[cal] = all(b > a for a, b in zip(seq, seq[1:]))
    under = "both calibration rules" if len(rising) == 2 else "the " + " and ".join(rising) + " calibration rule"
    if not rising:
        out["width"] = "no calibration rule was measured from scratch at more than one width"
    elif all(rising.values()):
        out["width"] = f"from scratch, the mean rose with every step in width under {under}"
    else:
        out["width"] = f"from scratch, the mean did not rise with every step in width under {under}"
    cals = sorted(table["calibration"].unique())
    out["start"] = _contrast([m[(w, "stand-in", c)] - m[(w, "scratch", c)] for w in widths for c in cals
                              if (w, "stand-in", c) in m and (w, "scratch", c) in m],
                             "starting from the stand-in", "starting from scratch", "width and calibration rule",
                             "no cell was measured from both starts")
    out["calibration"] = _contrast([m[(w, s, "train")] - m[(w, s, "eval")] for w in widths for s in STARTS
                                    if (w, s, "train") in m and (w, s, "eval") in m],
                                   "this project's earlier calibration rule", "the original's", "width and start",
                                   "no cell was measured under both rules")
    return out
