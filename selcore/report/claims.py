"""The claims ledger: each claim of the original release, our measurement over seeds, and a verdict
computed from the numbers by a stated rule (nothing typed by hand).

Verdict rules (95% t-interval [lo, hi] over n seeds):
* ``at_least t``: confirmed if lo >= t, refuted if hi < t;
* ``at_most t``: confirmed if hi <= t, refuted if lo > t;
* ``near x +- tol``: confirmed if [lo, hi] lies inside [x - tol, x + tol], refuted if it lies outside it;
* ``differs from x``: confirmed if the interval excludes x (lo > x or hi < x); never refuted (an interval
  cannot show equality); the ablations chapter reads its paired differences by this rule with x = 0;
* otherwise, and always with fewer than 2 seeds: "inconclusive at this n";
* a claim whose figure only the full protocol can give (absolute accuracies) is "not reproduced" when the
  runs used a reduced profile, whatever the numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from ..paths import RunPaths, csv_path
from ..engine.results import read_json
from ..engine.continual import forgetting
from .applications import accuracy_matrix, run_bytes
from .stats import format_ci, mean_ci
from .summary import read_history

VERDICTS = ("confirmed", "refuted", "not reproduced", "inconclusive at this n")


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

    def verdict(self, s: dict, paper_only: bool = False, profile: str = "paper") -> str:
        """Apply the rule to ``s`` = mean_ci(...) (see the module doc)."""
        if paper_only and profile != "paper":
            return "not reproduced"
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


# ----------------------------------------------------------------------------- per-seed measures
class Seed:
    """One seed's results folder: CSV last rows and run.json, loaded lazily."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._h: dict[str, pd.DataFrame] = {}

    def has(self, e: str) -> bool:
        return csv_path(self.folder, e).exists()

    def hist(self, e: str) -> pd.DataFrame:
        if e not in self._h:
            self._h[e] = read_history(csv_path(self.folder, e))
        return self._h[e]

    def last(self, e: str, col: str) -> float:
        return float(self.hist(e)[col].iloc[-1])

    def config(self, e: str) -> dict:
        """The configuration ``e`` ran with (its run.json)."""
        return read_json(RunPaths(self.folder, e).run_json)["config"]

    def prior_time(self, e: str) -> float:
        p = RunPaths(self.folder, e).run_json
        return float((read_json(p).get("prior_cost") or {}).get("time_s", 0.0)) if p.exists() else 0.0

    def saving(self, e: str, col: str) -> float:
        return 100.0 * (1.0 - self.last(e, col) / self.last("baseline", col))


def _sel_epochs(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["stage"] > 0] if "stage" in df else df


def gradient_sparsity(df: pd.DataFrame) -> float:
    """Share of gradient entries the guilt mask zeroed, %: 100 x the mean ``sparsity`` over the SEL epochs."""
    return 100 * float(_sel_epochs(df)["sparsity"].mean())


def gradient_kept(df: pd.DataFrame) -> float:
    """Share of gradient entries the mask kept, %: 100 x the mean of 1 - ``sparsity`` over the SEL epochs."""
    return 100 * float((1 - _sel_epochs(df)["sparsity"]).mean())


def weights_moved(df: pd.DataFrame) -> float:
    """Share of weights that changed per step, %: 100 x the mean ``update_density`` over the SEL epochs."""
    return 100 * float(_sel_epochs(df)["update_density"].mean())


def frozen_gap(df: pd.DataFrame) -> float:
    """Weights changed per step minus gradient entries kept, pp: 100 x the mean over the SEL epochs of
    ``update_density - (1 - sparsity)``; above 0, weights whose gradient entry was zeroed moved."""
    sel = _sel_epochs(df)
    return 100 * float((sel["update_density"] - (1 - sel["sparsity"])).mean())


def split_forgetting(s: Seed, e: str, kind: str = "cil") -> float:
    """A Split CIFAR-10 run's average forgetting after its last task (``continual.forgetting``)."""
    A = accuracy_matrix(s.hist(e), kind)
    return forgetting(A, len(A) - 1)


def _early_gap(s: Seed, e: str) -> float:
    df = s.hist(e)
    first = df[df["stage"] == 1]
    return float((first["train_acc"] - first["test_full"]).mean())


@dataclass(frozen=True)
class Claim:
    key: str
    claim: str
    original: str
    measure: str
    needs: tuple
    value: Callable[[Seed], float]
    rule: Rule
    paper_only: bool = False


CLAIMS = (
    Claim("flops_saved", "SEL-95 saves 99% of training FLOPs", "99% (proxy: 0.084 T vs 33.5 T)",
          "executed training FLOPs saved vs Baseline, %", ("baseline", "sel95"),
          lambda s: s.saving("sel95", "exec_flops_T"), Rule("at_least", 99.0)),
    Claim("sparsity", "p40 guilt threshold gives ~95% gradient sparsity", "~95%",
          "SEL-95 mean gradient sparsity over its stages, %", ("sel95",),
          lambda s: gradient_sparsity(s.hist("sel95")), Rule("near", 95.0, 5.0)),
    Claim("faster", "SEL trains 38% faster than the Baseline", "38% (835 s vs 1398 s)",
          "wall-clock saved vs Baseline incl. SEL's scoring pass, %", ("baseline", "sel95"),
          lambda s: 100 * (1 - (s.last("sel95", "time_s") + s.prior_time("sel95")) / s.last("baseline", "time_s")),
          Rule("at_least", 38.0)),
    Claim("warmup_recovers", "Warmup+SEL recovers ~8 pp over SEL-95", "+7.8 pp (85.3% vs 77.5%)",
          "held-out accuracy, Warmup+SEL minus SEL-95, pp", ("sel95", "warmup"),
          lambda s: s.last("warmup", "test_100") - s.last("sel95", "test_100"), Rule("near", 8.0, 4.0)),
    Claim("lottery_accuracy", "Lottery Ticket keeps Baseline accuracy (93.0% vs 93.2%)", "-0.2 pp",
          "held-out accuracy, Lottery minus Baseline, pp", ("baseline", "lottery"),
          lambda s: s.last("lottery", "test_100") - s.last("baseline", "test_100"), Rule("at_least", -1.0)),
    Claim("lottery_savings", "Lottery Ticket saves 80% of FLOPs", "80% (6.7 T vs 33.5 T)",
          "executed training FLOPs saved vs Baseline (pretraining included), %", ("baseline", "lottery"),
          lambda s: s.saving("lottery", "exec_flops_T"), Rule("at_least", 80.0)),
    Claim("sel_accuracy", "SEL-95 reaches 77.5% held-out accuracy", "77.5%",
          "SEL-95 held-out accuracy, %", ("sel95",), lambda s: s.last("sel95", "test_100"),
          Rule("near", 77.5, 2.0), paper_only=True),
    Claim("full_test", "The README's Full-test column (92.5 / 93.0 / 77.5 / 85.3%)",
          "equal to 100/class for 3 of 4 systems",
          "mean |full test - 100/class| over the four systems, pp", ("baseline", "lottery", "sel95", "warmup"),
          lambda s: sum(abs(s.last(e, "test_full") - s.last(e, "test_100"))
                        for e in ("baseline", "lottery", "sel95", "warmup")) / 4, Rule("at_most", 0.05)),
    Claim("no_early_overfit", "The easy-to-hard curriculum prevents early overfitting", "qualitative",
          "train-test gap in stage 1, curriculum order minus random windows, pp", ("curriculum_only", "random_windows"),
          lambda s: _early_gap(s, "curriculum_only") - _early_gap(s, "random_windows"), Rule("at_most", 0.0)),
    Claim("frozen", "Frozen knowledge stays frozen (zeroed gradients leave weights unchanged)", "qualitative",
          "SEL-95 (Adam): weights changed per step minus gradient entries kept, pp", ("sel95",),
          lambda s: frozen_gap(s.hist("sel95")), Rule("at_most", 0.0)),
    Claim("adaptive_gamma", "An auto-tuning guilt threshold removes the manual calibration (near-term plan)",
          "planned, not built", "adaptive gamma at SEL's stages: gradient entries kept minus the 5% target, pp",
          ("adaptive",), lambda s: gradient_kept(s.hist("adaptive")) - 100 * s.config("adaptive")["target_density"],
          Rule("near", 0.0, 0.5)),
    Claim("communication", "Sparse gradient updates dramatically reduce communication in distributed training",
          "qualitative", "data-parallel SEL-95 (2 workers): bytes a worker sent, saved vs the dense all-reduce, %",
          ("ddp_sel",), lambda s: 100 * (1 - run_bytes(s.hist("ddp_sel")) / run_bytes(s.hist("ddp_sel"), "comm_dense_bytes")),
          Rule("at_least", 50.0)),
    Claim("forgetting", "SEL naturally resists catastrophic forgetting", "qualitative",
          "Split CIFAR-10, class-incremental forgetting after the last task, dense minus SEL's mask, pp",
          ("split_dense", "split_sel"), lambda s: split_forgetting(s, "split_dense") - split_forgetting(s, "split_sel"),
          Rule("at_least", 0.0)),
    Claim("per_class_gamma", "A per-class adaptive threshold could significantly improve results", "planned, not built",
          "held-out accuracy, class-weighted adaptive SEL minus SEL-95, pp", ("sel95", "classweight"),
          lambda s: s.last("classweight", "test_100") - s.last("sel95", "test_100"), Rule("at_least", 0.0)),
)

CLAIM = {c.key: c for c in CLAIMS}
"""Each claim by its key."""

DIFFERS_FROM_ZERO = Rule("differs", 0.0)
"""The rule a paired difference over seeds is read by (``difference_reading``)."""


def difference_reading(s: dict) -> str:
    """How ``s`` = mean_ci(paired differences) reads under ``DIFFERS_FROM_ZERO``: the interval excludes zero,
    includes it, or (fewer than 2 values) does not exist."""
    if s["n"] < 2 or pd.isna(s["lo"]):
        return "with one seed no interval can be given"
    if DIFFERS_FROM_ZERO.verdict(s) == "confirmed":
        return "the interval excludes zero"
    return "the interval includes zero: no difference is shown at this n"


def ledger(folders: list[Path | str], profile: str) -> pd.DataFrame:
    """One row per claim: the original's figure, ours as mean [95% CI] (n), the rule and the verdict.
    A claim whose experiments are missing from the folders reads 'inconclusive at this n' with n=0."""
    seeds = [Seed(Path(f)) for f in folders]
    rows = []
    for c in CLAIMS:
        vals = [c.value(s) for s in seeds if all(s.has(e) for e in c.needs)]
        st = mean_ci(vals)
        rows.append({"claim": c.claim, "original": c.original, "measured": c.measure,
                     "ours": format_ci(st["mean"], st["lo"], st["hi"], st["n"]) if st["n"] else "not run",
                     "rule": ("full protocol only; " if c.paper_only else "") + c.rule.describe(),
                     "verdict": c.rule.verdict(st, c.paper_only, profile),
                     "mean": st["mean"], "lo": st["lo"], "hi": st["hi"], "n": st["n"], "key": c.key})
    return pd.DataFrame(rows).set_index("key")


def ledger_view(table: pd.DataFrame, conditions: str) -> tuple[str, pd.DataFrame]:
    """The ledger as the claims chapter shows it: a sentence stating once what every row shares
    (``conditions``, such as the profile, hardware and data, and the number of seeds n where every claim that
    ran has the same n), and one row per claim with its own text only: claim, original, measured, ours
    (mean [95% CI], with its n where the rows' n differ), rule, verdict."""
    ran = table["n"] > 0
    ns = set(table.loc[ran, "n"].astype(int))
    common = ns.pop() if len(ns) == 1 else None
    ours = [format_ci(r["mean"], r["lo"], r["hi"], None if common else int(r["n"])) if r["n"] else "not run"
            for _, r in table.iterrows()]
    over = f"n = {common} seed{'s' if common != 1 else ''}" if common else "the seeds (n in each row)"
    text = f"Every row: {conditions}; ours is the mean [95% t-interval] over {over}."
    shown = table[["claim", "original", "measured", "rule", "verdict"]].assign(ours=ours)
    return text, shown[["claim", "original", "measured", "ours", "rule", "verdict"]]
