"""Results over several seeds: mean, standard deviation and a 95% confidence interval inside the quantity's range,
one-sided tests, Holm's adjustment, and their one text form (the seeds a threshold needs: ``power``)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..paths import SEED_PREFIX, seed_of

LEVEL = 0.95
"""Coverage of every interval the book states."""


@dataclass(frozen=True)
class Bounds:
    """The range a quantity can take: [lower, upper], either end open (None). An interval for it is computed on a
    scale on which the range is the whole line: the logit of (x - lower) / (upper - lower) with both ends, the log
    of x - lower with a lower end only, the log of upper - x with an upper end only, the values themselves without
    ends; so its back-transformed ends always lie inside the range."""
    lower: float | None = None
    upper: float | None = None

    def forward(self, x):
        """The values on the interval's scale (increasing in x except with an upper end only)."""
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            if self.lower is not None and self.upper is not None:
                p = (x - self.lower) / (self.upper - self.lower)
                return np.log(p) - np.log1p(-p)
            if self.lower is not None:
                return np.log(x - self.lower)
            if self.upper is not None:
                return np.log(self.upper - x)
        return x

    def backward(self, y):
        y = np.asarray(y, dtype=float)
        if self.lower is not None and self.upper is not None:
            return self.lower + (self.upper - self.lower) / (1 + np.exp(-y))
        if self.lower is not None:
            return self.lower + np.exp(y)
        if self.upper is not None:
            return self.upper - np.exp(y)
        return y

    @property
    def decreasing(self) -> bool:
        return self.lower is None and self.upper is not None

    def inside(self, x: float) -> bool:
        """Strictly inside the range (where the scale is finite)."""
        return (self.lower is None or x > self.lower) and (self.upper is None or x < self.upper)

    def method(self) -> str:
        """How an interval for this range is computed, in words."""
        if self.lower is not None and self.upper is not None:
            return f"t interval on the logit scale of [{self.lower:g}, {self.upper:g}]"
        if self.lower is not None:
            return f"t interval on the log scale of x - {self.lower:g}"
        if self.upper is not None:
            return f"t interval on the log scale of {self.upper:g} - x"
        return "t interval"


UNBOUNDED = Bounds()
PERCENT = Bounds(0.0, 100.0)
"""A share in % (sparsity, accuracy)."""
SAVED = Bounds(None, 100.0)
"""A share saved in % (at most all of it; below zero when more was spent)."""
PP = Bounds(-100.0, 100.0)
"""A difference of two percentages, in percentage points."""
NONNEGATIVE = Bounds(0.0, None)
FRACTION = Bounds(0.0, 1.0)


def bounds_of(column: str) -> Bounds:
    """The range of a results column or measure, by its name: accuracies and shares in % (``test_100``,
    ``acc_<class>``, ``100/class``, ``Full test``, ``*_pct`` of a whole such as ``sent_pct``) in [0, 100];
    fractions (``sparsity``, ``*density``) in [0, 1]; shares saved (``* saved %``) at most 100; counts, FLOPs,
    seconds, bytes, thresholds and losses at least 0; a difference (``*diff*``, ``pp``) and forgetting (a drop in
    accuracy, negative when a task gained) in [-100, 100] pp. Names it does not know: no bounds."""
    c = column.lower()
    if "saved" in c:
        return SAVED
    if c.endswith(" pp") or "diff" in c or c.endswith("_pp") or "forgetting" in c:
        return PP
    if c in ("test_100", "test_full", "train_acc", "100/class", "full test", "best 100/class") or \
            c.startswith("acc_") or c.endswith("_acc") or c in ("sent_pct", "msg_pct", "tensor_pct"):
        return PERCENT
    if c == "sparsity" or c.endswith("density"):
        return FRACTION
    if c.endswith("_pct"):  # a share of a reference that can exceed it (exec_pct: % of the Baseline's FLOPs)
        return NONNEGATIVE
    if re.search(r"(flops|_t$|_s$|_mb$|^time|samples|bytes|gamma|epochs|loss|seconds)", c):
        return NONNEGATIVE
    return UNBOUNDED


def mean_ci(values: Iterable[float], level: float = LEVEL, bounds: Bounds = UNBOUNDED) -> dict:
    """n, the values, their mean, sample std (ddof 1) and a ``level`` interval [lo, hi] that lies inside
    ``bounds``: Student's t interval m_y +- t_{(1+level)/2, n-1} * s_y / sqrt(n) of the values y on the bounds' scale
    (``Bounds``; the values themselves when unbounded), transformed back. A value on a bound has no finite place on
    that scale: then the interval is the t interval of the values themselves, clipped to the bounds (``method`` says
    which). NaN values are dropped. With one value the std and interval are NaN (no spread can be stated); equal
    values give std 0 and lo = hi = mean. ``scale_mean``, ``scale_se`` (m_y and s_y / sqrt(n)) and ``scale`` (the
    Bounds used, UNBOUNDED after clipping) are what ``p_greater`` and ``seeds_to_clear`` read."""
    v = [float(x) for x in values if not pd.isna(x)]
    n = len(v)
    out = {"n": n, "mean": math.nan, "std": math.nan, "lo": math.nan, "hi": math.nan, "values": v,
           "method": bounds.method(), "scale": bounds, "scale_mean": math.nan, "scale_se": math.nan}
    if n == 0:
        return out
    m = sum(v) / n
    out["mean"] = m
    if n == 1:
        return out
    if max(v) - min(v) <= 1e-12 * max(1.0, abs(m)):
        # equal values (e.g. a FLOP count that no seed changes): no spread, not rounding noise
        return {**out, "mean": v[0], "std": 0.0, "lo": v[0], "hi": v[0], "scale_se": 0.0,
                "scale_mean": float(bounds.forward(v[0])) if bounds.inside(v[0]) else v[0]}
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1))
    scale = bounds if all(bounds.inside(x) for x in v) else UNBOUNDED
    y = scale.forward(v)
    my, se = float(np.mean(y)), float(np.std(y, ddof=1)) / math.sqrt(n)
    half = float(sps.t.ppf((1 + level) / 2, n - 1)) * se
    ends = sorted(float(e) for e in scale.backward([my - half, my + half]))
    if scale is not bounds:  # a value on a bound: the plain t interval, clipped
        ends = [float(np.clip(e, bounds.lower if bounds.lower is not None else -np.inf,
                              bounds.upper if bounds.upper is not None else np.inf)) for e in ends]
        out["method"] = "t interval clipped to the range (a value lies on its bound)"
    return {**out, "std": sd, "lo": ends[0], "hi": ends[1], "scale": scale, "scale_mean": my, "scale_se": se}


def p_greater(st: dict, x: float) -> float:
    """One-sided p-value of 'the mean exceeds x' (H0: mean <= x) from ``mean_ci``'s result, by the t test on the
    interval's own scale, so that p <= (1 - level) / 2 exactly when the interval's lower end is >= x (a threshold
    on a bound of the range is cleared by any value inside it). NaN with fewer than 2 values."""
    n, scale = st["n"], st["scale"]
    if n < 2 or pd.isna(st["lo"]):
        return math.nan
    if st["scale_se"] == 0:
        return 0.0 if st["mean"] > x else 1.0
    if not scale.inside(x):  # a threshold at or beyond a bound of the range
        below = (scale.lower is not None and x <= scale.lower)
        return 0.0 if below else 1.0
    z = (st["scale_mean"] - float(scale.forward(x))) / st["scale_se"]
    if scale.decreasing:
        z = -z
    return float(sps.t.sf(z, n - 1))


def p_less(st: dict, x: float) -> float:
    """One-sided p-value of 'the mean is below x' (H0: mean >= x); see ``p_greater``."""
    p = p_greater(st, x)
    if pd.isna(p):
        return p
    if st["scale_se"] == 0:
        return 0.0 if st["mean"] < x else 1.0
    return 1.0 - p


def holm(pvalues: Iterable[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm 1979): sorted ascending p_(1) <= ... <= p_(m),
    adjusted p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)); rejecting where adjusted <= alpha controls the
    family-wise error rate at alpha. NaN values are left NaN and do not count in m."""
    p = list(pvalues)
    idx = sorted((i for i, v in enumerate(p) if not pd.isna(v)), key=lambda i: p[i])
    m, out, running = len(idx), [math.nan] * len(p), 0.0
    for k, i in enumerate(idx):
        running = max(running, min(1.0, (m - k) * p[i]))
        out[i] = running
    return out


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


def seed_folders(root: Path | str, seeds: Iterable[int] | None = None) -> list[Path]:
    """The per-seed results folders ``<root>/seed<k>`` in seed order (only those of ``seeds`` where given)."""
    keep = None if seeds is None else set(seeds)
    found = [p for p in Path(root).glob(f"{SEED_PREFIX}*")
             if p.is_dir() and seed_of(p) is not None and (keep is None or seed_of(p) in keep)]
    return sorted(found, key=seed_of)


def over_seeds(tables: list[pd.DataFrame], columns: Iterable[str]) -> pd.DataFrame:
    """For per-seed tables indexed alike (e.g. summary tables), one row per index of any of them (in order of
    appearance) with ``<col>`` (mean), ``<col> std``, ``<col> lo``, ``<col> hi`` (inside the column's range,
    ``bounds_of``) and ``n`` (the tables holding it)."""
    rows = {}
    for idx in dict.fromkeys(i for t in tables for i in t.index):
        row = {}
        for col in columns:
            s = mean_ci((t.loc[idx, col] for t in tables if idx in t.index), bounds=bounds_of(col))
            row[col], row[f"{col} std"], row[f"{col} lo"], row[f"{col} hi"] = s["mean"], s["std"], s["lo"], s["hi"]
            row["n"] = s["n"]
        rows[idx] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def seed_values(values, digits: int = 1) -> str:
    """Per-seed values as one compact cell: 'a, b, c' (``format_number`` with ``digits`` decimals)."""
    return ", ".join(format_number(float(v), digits) for v in values)


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
    'mean ± std [lo, hi] (n=k)'; without an interval (one seed, NaN bounds) or without spread (lo = hi = mean,
    equal values) the brackets and the std are left out; with ``n`` None the '(n=k)' is left out (a table stating n once). Numbers as ``format_number``
    (``digits`` decimals, or ``sig`` significant figures)."""
    def num(x: float) -> str:
        return format_number(x, digits, sig, grouping)

    text = num(mean)
    if lo == hi == mean:  # no spread across the seeds (a FLOP count no seed changes): the value alone
        return text + (f" (n={int(n)})" if n is not None else "")
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
