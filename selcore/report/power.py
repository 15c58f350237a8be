"""The seeds a rule needs, chosen before they run: the power of the one-sided t test (the 95% interval's reading)
at n seeds against a stated margin, and the smallest n that reaches 80%."""
from __future__ import annotations

import math

import pandas as pd
from scipy import stats as sps

from .stats import LEVEL


POWER = 0.80
"""The power every seed count of the book is chosen for."""


def power_one_sided(n: int, margin: float, sd: float, alpha: float = (1 - LEVEL) / 2) -> float:
    """The power of the one-sided t test at ``alpha`` with ``n`` seeds when the true mean lies ``margin`` beyond
    the threshold and the per-seed standard deviation is ``sd`` (both on the interval's scale): with
    delta = margin * sqrt(n) / sd, power = P(T'_{n-1, delta} > t_{1-alpha, n-1}), T' the noncentral t. At
    alpha = 2.5% the test rejects exactly when the 95% interval clears the threshold (``p_greater``)."""
    if n < 2 or sd <= 0 or margin <= 0:
        return 0.0 if n < 2 or margin <= 0 else 1.0
    crit = float(sps.t.ppf(1 - alpha, n - 1))
    return float(sps.nct.sf(crit, n - 1, margin * math.sqrt(n) / sd))


def power_band(n: int, tol: float, sd: float, alpha: float = (1 - LEVEL) / 2) -> float:
    """A lower bound on the power of reading 'within value +- tol' (both one-sided tests at ``alpha``, the 95%
    interval inside the band) when the true mean is the band's centre: 1 - 2 (1 - ``power_one_sided(n, tol, sd)``),
    by Bonferroni's inequality over the two tests' failures (0 where that is negative)."""
    return max(0.0, 1.0 - 2.0 * (1.0 - power_one_sided(n, tol, sd, alpha)))


def seeds_for_power(margin: float, sd: float, band: bool = False, power: float = POWER,
                    alpha: float = (1 - LEVEL) / 2, cap: int = 1000) -> int | None:
    """A power calculation fixed before the seeds it asks for run: the smallest n >= 2 at which the one-sided t
    test at ``alpha`` (the 95% interval's reading) reaches ``power`` when the true mean lies ``margin`` beyond the
    rule's threshold and the per-seed standard deviation is ``sd``, both on the interval's scale
    (``power_one_sided``; ``power_band`` for a 'within +- tol' rule, ``margin`` = tol, the mean at the centre).
    The margin is the rule's, set before the runs (the original's figure against the rule's threshold, or a
    stated smallest effect), never the observed mean. None when more than ``cap`` seeds, or no margin."""
    if margin <= 0 or pd.isna(margin) or pd.isna(sd):
        return None
    f = power_band if band else power_one_sided
    for k in range(2, cap + 1):
        if f(k, margin, sd, alpha) >= power:
            return k
    return None
