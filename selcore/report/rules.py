"""The rules that read a claim's per-seed values, and what a verdict can be.

A row's per-seed values, their mean and a 95% interval inside the quantity's range (``stats.mean_ci`` with the
claim's ``Bounds``: a t interval on the scale that maps the range onto the whole line, transformed back; the printed
point is the plain mean) are read by its ``Rule``, through the equivalent one-sided t tests on the interval's scale
(``stats.p_greater``; a test at 2.5% per side is the interval's reading):
* ``at_least t``: confirmed if lo >= t, refuted if hi < t;
* ``at_most t``: confirmed if hi <= t, refuted if lo > t;
* ``near x +- tol``: confirmed if [lo, hi] lies inside [x - tol, x + tol], refuted if it lies outside it;
* ``differs from x``: confirmed if the interval excludes x; never refuted (an interval cannot show equality); the
  ablations chapter reads its paired differences by this rule with x = 0;
* otherwise, and always with fewer than 2 seeds: "inconclusive at this n", with the seeds for 80% power against
  the rule's margin (``power.seeds_for_power``).

Where a regime this book ran can decide a claim is a ``Decidable``; a rule is revised only in the open
(``Revision``): date, old rule, new rule, why; the new rule reads only runs started on or after its date.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from .power import seeds_for_power
from .stats import Bounds, p_greater, p_less

TESTED = ("confirmed", "refuted", "inconclusive at this n")
"""The verdicts of a row read by a test."""


ORIGINAL_REGIME = "needs the original's regime"
"""The verdict on an original claim that only the original's regime can decide (``Decidable.here`` False)."""


WITHDRAWN = "withdrawn: confounded"
"""The verdict of a row whose measure cannot separate the claim from its own construction (``Claim.withdrawn``)."""


VERDICTS = TESTED + (ORIGINAL_REGIME, WITHDRAWN, "a discrepancy in the original's published numbers",
                     "an implementation check of a planned feature")


KINDS = {"claim": "a claim of the original's results", "plan": "a future plan of the original",
         "table": "a check computed from the original's own CSVs"}
"""What a row is: the README and the intro count the original's claims apart from its plans and its table."""


SIDE = 0.025
"""Each one-sided test's level: the 95% interval's reading."""


THE_ORIGINALS_REGIME = ("ImageNet-pretrained weights for the scorer and every model, all 50,000 training images, the "
                        "paper's epochs (30 / 15+30 / 50 / 5+50) and a GPU")
"""The regime the original ran in, which this book cannot: no ImageNet weights can be downloaded here, and on this
2-core CPU the paper's epochs on 50,000 images would take days per seed (a projection from the width-64 runs' own
clocks scaled by the protocol's executed FLOPs, not a measurement)."""


@dataclass(frozen=True)
class Decidable:
    """Whether a regime this book ran can decide the original's claim (``here``), and the evidence in a phrase."""
    here: bool
    evidence: str

    def text(self) -> str:
        return ("yes: " if self.here else "no: ") + self.evidence


@dataclass(frozen=True)
class Rule:
    kind: str          # "at_least", "at_most", "near" or "differs"
    value: float
    tol: float = 0.0

    def describe(self) -> str:
        if self.kind == "near":
            return f"within {self.value:g} +- {self.tol:g}"
        if self.kind == "differs":
            return f"differs from {self.value:g}"
        return f"{'>=' if self.kind == 'at_least' else '<='} {self.value:g}"

    def pvalues(self, st: dict) -> tuple[float, float]:
        """(p of confirming, p of refuting): the one-sided t tests on ``st`` = mean_ci(...)'s scale whose rejection
        at ``SIDE`` is the interval's reading (NaN with fewer than 2 values)."""
        if self.kind == "near":
            a, b = self.value - self.tol, self.value + self.tol
            return max(p_greater(st, a), p_less(st, b)), min(p_less(st, a), p_greater(st, b))
        if self.kind == "differs":
            return min(p_greater(st, self.value), p_less(st, self.value)), 1.0
        up, down = p_greater(st, self.value), p_less(st, self.value)
        return (up, down) if self.kind == "at_least" else (down, up)

    def margin(self, scale: Bounds, assumed: float | None) -> float:
        """How far a true value ``assumed`` lies beyond this rule's threshold on the interval's ``scale`` (NaN when
        it does not clear it, or no value is assumed): for ``near``, the nearer end of the band from its centre
        (the value assumed is the centre)."""
        f = (lambda x: float(scale.forward(x))) if all(scale.inside(x) for x in self._points()) else float
        if self.kind == "near":
            a, b = self.value - self.tol, self.value + self.tol
            return min(abs(f(self.value) - f(a)), abs(f(b) - f(self.value)))
        if assumed is None or self.kind == "differs" or not scale.inside(assumed):
            return float("nan")
        d = abs(f(assumed) - f(self.value))
        beyond = assumed > self.value if self.kind == "at_least" else assumed < self.value
        return d if beyond and d > 0 else float("nan")

    def _points(self) -> tuple[float, ...]:
        return (self.value - self.tol, self.value + self.tol) if self.kind == "near" else (self.value,)

    def seeds_needed(self, st: dict, assumed: float | None) -> int | None:
        """Seeds for 80% power (``power.seeds_for_power``) to clear this rule's margin (``margin``: the true value
        ``assumed``, fixed with the claim, against the threshold; never the observed mean), with the per-seed
        standard deviation on the interval's scale as measured in ``st``. None where no margin exists or more than
        1,000 seeds are needed."""
        if st["n"] < 2 or pd.isna(st["scale_se"]):
            return None
        sd = st["scale_se"] * math.sqrt(st["n"])
        if sd == 0:
            return 2
        return seeds_for_power(self.margin(st["scale"], assumed), sd, band=self.kind == "near")

    def distance(self, mean: float) -> float:
        """How far ``mean`` lies from the rule's nearest threshold (for ``near``, from the nearer end of its band;
        positive inside it)."""
        if self.kind == "near":
            return min(mean - (self.value - self.tol), self.value + self.tol - mean)
        return mean - self.value

    def verdict(self, s: dict, paper_only: bool = False, profile: str = "paper") -> str:
        """Apply the rule to ``s`` = mean_ci(...)'s interval (see the module doc)."""
        if paper_only and profile != "paper":
            return "needs the full protocol"
        if s["n"] < 2 or pd.isna(s["lo"]):
            return "inconclusive at this n"
        lo, hi = s["lo"], s["hi"]
        if self.kind == "at_least":
            return "confirmed" if lo >= self.value else "refuted" if hi < self.value else "inconclusive at this n"
        if self.kind == "at_most":
            return "confirmed" if hi <= self.value else "refuted" if lo > self.value else "inconclusive at this n"
        if self.kind == "differs":
            return "confirmed" if lo > self.value or hi < self.value else "inconclusive at this n"
        a, b = self.value - self.tol, self.value + self.tol
        if a <= lo and hi <= b:
            return "confirmed"
        if hi < a or lo > b:
            return "refuted"
        return "inconclusive at this n"


def decide(p_confirm: float, p_refute: float, level: float = SIDE) -> str:
    """The verdict of a row's two one-sided p-values at ``level``."""
    if pd.isna(p_confirm) or pd.isna(p_refute):
        return "inconclusive at this n"
    return "confirmed" if p_confirm <= level else "refuted" if p_refute <= level else "inconclusive at this n"


@dataclass(frozen=True)
class Revision:
    """A rule revised in the open: from ``date`` (YYYY-MM-DD) on, runs are read by ``rule`` instead; ``why``. A
    revision that measures something else gives its ``measure`` and its ``values`` (from the seeds' folders and the
    controlled timing, one value per timing round); it reads a timing made on or after its date."""
    date: str
    rule: Rule
    why: str
    measure: str = ""
    values: Callable[[list, pd.DataFrame], list[float]] | None = None  # (measures.Seed list, timing) -> values
