"""What the ablations chapter states, computed from the committed results alone (CSVs and run.json files).

Each function returns the values the chapter glues, by glue key (``abl_...``), beside any table it shows.
Nothing here needs a checkpoint or the curriculum cache (both git-ignored): gamma0 is read from each run's
``prior_cost.gamma0`` and the scorer's agreement with a trained Baseline from the oracle-order run's
``prior_cost.order_agreement`` (stored at training time); where a run predates that record,
``order_agreement`` says what is missing and what recomputing it would take.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import pandas as pd

from ..engine.results import read_json
from ..paths import RunPaths, csv_path
from .catalogue import CLAIM, DIFFERS_FROM_ZERO
from .claims import difference_reading
from .measures import frozen_gap, gradient_kept, gradient_sparsity, weights_moved
from .plots_ablations import TITLES
from .stats import PERCENT, PP, UNBOUNDED, Bounds, NONNEGATIVE, format_ci, format_number, holm, mean_ci
from .summary import read_history

COMPARISONS = {
    "order": ("curriculum_only", "random_windows", "the scorer's order vs random windows (no mask)"),
    "mask_random": ("mask_only", "random_windows", "mask + lr scaling on random windows"),
    "mask_sorted": ("sel95", "curriculum_only", "mask + lr scaling on the sorted windows"),
    "oracle": ("oracle_order", "sel95", "trained Baseline's order vs the scorer's (with mask)"),
    "staging": ("sel95", "dense_budget", "SEL-95% vs dense training with its image budget"),
    "budget_random": ("random_windows", "dense_budget", "random windows vs dense training, same budget"),
    "sgd": ("sel95_sgd", "sel95", "SEL-95% with SGD vs with Adam"),
    "vs_baseline": ("sel95", "baseline", "SEL-95% vs the Baseline"),
    "calibration": ("sel95", "calib_train_clean",
                    "the original code's calibration (eval mode, augmented) vs train mode, clean"),
}
"""Each paired comparison: (system a, system b, what a minus b isolates)."""


def shown_n(n: int) -> int | None:
    """The n a text value carries: ``n`` over several seeds, none for one run (its sentence says 'one run')."""
    return int(n) if n > 1 else None


def over_text(seeds: list[int]) -> str:
    """What the chapter's values are over: 'mean [95% CI] over n = k seeds', or 'one run, seed s'."""
    return f"mean [95% CI] over n = {len(seeds)} seeds" if len(seeds) > 1 else f"one run, seed {seeds[0]}"


def _ci_text(values, digits: int = 1, bounds: Bounds = UNBOUNDED) -> tuple[dict, str]:
    s = mean_ci(values, bounds=bounds)
    return s, format_ci(s["mean"], s["lo"], s["hi"], shown_n(s["n"]), digits=digits)


def digits_apart(s: dict, x: float = 0.0, digits: int = 1, most: int = 4) -> int:
    """The decimals (from ``digits`` up to ``most``) at which neither end of ``s``'s interval is written as ``x``
    unless it is ``x``: an interval that excludes zero never reads '[-10.0, 0.0]'."""
    while digits < most and any(e != x and round(e, digits) == x for e in (s["lo"], s["hi"]) if not pd.isna(e)):
        digits += 1
    return digits


def effects(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """For each of ``COMPARISONS`` whose systems both ran: the held-out accuracy of a minus b (pp), paired by
    seed: the per-seed differences, their mean [95% interval inside [-100, 100] pp] read by
    ``claims.difference_reading``, and the same reading after Holm's adjustment over the comparisons shown (the
    chapter's family; two-sided p-values, ``catalogue.DIFFERS_FROM_ZERO``). ``rows`` are ``plots_ablations.last_rows``.
    Returns the table (one row per comparison with its n) and the glue values ``abl_d_<key>`` (mean), ``_txt``
    (with n), ``_read`` and ``_read_holm``."""
    acc = rows.pivot(index="seed", columns="system", values="test_100")
    found, values = [], {}
    for key, (a, b, what) in COMPARISONS.items():
        if a not in acc or b not in acc:
            continue
        diffs = (acc[a] - acc[b]).dropna()
        s = mean_ci(diffs, bounds=PP)
        digits = digits_apart(s)
        text = format_ci(s["mean"], s["lo"], s["hi"], shown_n(s["n"]), digits=digits)
        p = 2 * DIFFERS_FROM_ZERO.pvalues(s)[0] if s["n"] >= 2 else float("nan")
        found.append((key, a, b, what, s, digits, min(1.0, p)))
        values.update({f"abl_d_{key}": float(s["mean"]), f"abl_d_{key}_txt": text,
                       f"abl_d_{key}_read": difference_reading(s)})
    adjusted = holm([p for *_, p in found])
    table = []
    for (key, a, b, what, s, digits, p), p_holm in zip(found, adjusted):
        if pd.isna(p_holm):
            read_holm = difference_reading(s)
        else:
            read_holm = "a difference is shown" if p_holm <= 0.05 else "no difference is shown"
        values[f"abl_d_{key}_read_holm"] = read_holm
        table.append({"key": key, "comparison": f"{TITLES[a]} minus {TITLES[b]}", "what it isolates": what,
                      "per seed": ", ".join(format_number(v, 1) for v in diffs_of(acc, a, b)), "n": s["n"],
                      "held-out acc. difference, pp": format_ci(s["mean"], s["lo"], s["hi"], digits=digits),
                      "p": format_number(p, sig=2), "reading": values[f"abl_d_{key}_read"],
                      "p (Holm)": format_number(p_holm, sig=2), "reading (Holm)": read_holm})
    values["abl_family"] = (f"the {len(found)} comparisons in this table, adjusted by Holm's step-down method at "
                            f"5% (two-sided)")
    return pd.DataFrame(table).set_index("key"), values


def diffs_of(acc: pd.DataFrame, a: str, b: str) -> list[float]:
    """Per seed (in seed order), the held-out accuracy of ``a`` minus ``b``, pp."""
    return [float(v) for v in (acc[a] - acc[b]).dropna()]


def system_values(stats: pd.DataFrame) -> dict:
    """From ``plots_ablations.summary_stats``: each system's held-out accuracy and executed FLOPs
    (``abl_<system>_acc``, ``_exec`` and their ``_txt``), and SEL-95%'s executed FLOPs over the Baseline's and
    over dense training at its budget, its ideal and proxy FLOPs over its executed ones, and its images over
    the dense budget's (ratios of the means over seeds)."""
    values = {}
    for system, r in stats.iterrows():
        n = int(r["n"])
        values[f"abl_{system}_acc_txt"] = format_ci(r["test_100"], r["test_100 lo"], r["test_100 hi"], shown_n(n))
        values[f"abl_{system}_exec_txt"] = format_ci(r["exec_flops_T"], r["exec_flops_T lo"], r["exec_flops_T hi"],
                                                     shown_n(n), digits=4)
        values[f"abl_{system}_acc"], values[f"abl_{system}_exec"] = float(r["test_100"]), float(r["exec_flops_T"])
    sel = stats.loc["sel95"]
    values.update({
        "abl_sel_vs_dense_exec": float(sel["exec_flops_T"] / stats.loc["dense_budget", "exec_flops_T"]),
        "abl_sel_vs_base_exec": float(sel["exec_flops_T"] / stats.loc["baseline", "exec_flops_T"]),
        "abl_sel_ideal_over_exec": float(sel["ideal_flops_T"] / sel["exec_flops_T"]),
        "abl_sel_proxy_over_exec": float(sel["flops_T"] / sel["exec_flops_T"]),
        "abl_sel_vs_dense_images": float(sel["samples_seen"] / stats.loc["dense_budget", "samples_seen"])})
    return values


def _gamma0(folder: Path, experiment: str) -> float:
    """gamma0 as the run recorded it (``prior_cost.gamma0``), NaN where the run or the record is missing."""
    p = RunPaths(folder, experiment).run_json
    return float((read_json(p).get("prior_cost") or {}).get("gamma0", float("nan"))) if p.exists() else float("nan")


def calibration_values(folders: Mapping[int, Path]) -> dict:
    """The calibration rules compared, per seed folder: the train-mode, clean-image threshold over the original
    rule's (``abl_gamma_ratio_txt``, gamma0 from each run.json) and the share of gradient entries each rule's
    mask zeroed over the stages, % (``abl_calib_sparsity_orig_txt``, ``_old_txt``; ``measures.gradient_sparsity``)."""
    _, ratio = _ci_text([_gamma0(f, "calib_train_clean") / _gamma0(f, "sel95") for f in folders.values()], 2,
                        NONNEGATIVE)
    values = {"abl_gamma_ratio_txt": ratio}
    for name, e in (("orig", "sel95"), ("old", "calib_train_clean")):
        _, values[f"abl_calib_sparsity_{name}_txt"] = _ci_text(
            [gradient_sparsity(read_history(csv_path(f, e))) for f in folders.values()], bounds=PERCENT)
    return values


def frozen_values(histories: Mapping[str, list[pd.DataFrame]]) -> dict:
    """For each named set of SEL-95% runs (one history per seed, e.g. Adam and SGD): the gradient entries kept
    and the weights moved per step (%), their difference (pp; ``measures.frozen_gap``) as ``abl_<name>_kept_txt``,
    ``_moved_txt``, ``_frozen_txt``, and the verdict of the claims ledger's "frozen" rule on it
    (``abl_<name>_frozen_verdict``)."""
    values = {}
    for name, hists in histories.items():
        s, values[f"abl_{name}_frozen_txt"] = _ci_text([frozen_gap(h) for h in hists], bounds=PP)
        values[f"abl_{name}_frozen_verdict"] = CLAIM["frozen"].rule.verdict(s)
        _, values[f"abl_{name}_kept_txt"] = _ci_text([gradient_kept(h) for h in hists], bounds=PERCENT)
        _, values[f"abl_{name}_moved_txt"] = _ci_text([weights_moved(h) for h in hists], bounds=PERCENT)
    return values


@dataclass
class OrderAgreement:
    """The scorer's order against the trained Baseline's, as the oracle-order runs stored it."""
    rho: pd.DataFrame                                          # class x "seed<k>": Spearman rho
    extremes: dict[int, dict] = field(default_factory=dict)    # seed -> order name -> class -> indices
    missing: list[int] = field(default_factory=list)          # seeds whose run.json lacks the record
    note: str = ""                                             # Markdown: what is missing and how to get it

    def table(self) -> pd.DataFrame:
        """``rho`` with a last column ``mean`` over the seeds."""
        return self.rho.assign(mean=self.rho.mean(axis=1))

    def values(self) -> dict:
        """Glue values: ``abl_rho_txt`` (mean [95% CI] over class x seed values, 2 decimals) and
        ``abl_rho_range`` (the classes with the lowest and highest mean over seeds), or 'not available'."""
        if self.rho.empty:
            return {"abl_rho_txt": "not available (see above)", "abl_rho_range": "not available"}
        mean = self.rho.mean(axis=1)
        _, text = _ci_text(self.rho.to_numpy().ravel(), 2, Bounds(-1.0, 1.0))
        return {"abl_rho_txt": text, "abl_rho_range": f"from {mean.min():.2f} ({mean.idxmin()}) to "
                                                      f"{mean.max():.2f} ({mean.idxmax()})"}


def _recorded_seconds(folder: Path, experiment: str) -> float:
    """A finished run's training clock plus its prior work (s), as its CSV and run.json recorded them."""
    p = csv_path(folder, experiment)
    if not p.exists():
        return 0.0
    run = RunPaths(folder, experiment).run_json
    prior = (read_json(run).get("prior_cost") or {}).get("time_s", 0.0) if run.exists() else 0.0
    return float(read_history(p)["time_s"].iloc[-1]) + float(prior)


def order_agreement(folders: Mapping[int, Path]) -> OrderAgreement:
    """The per-class Spearman rho and the easiest and hardest images of each seed, read from its
    ``run_oracle_order.json`` (``prior_cost.order_agreement``). A seed whose run lacks the record (a run trained
    before it was stored) is left out and named in ``note``, with what recomputing it takes: the Baseline's
    network, git-ignored as a checkpoint (retrained where absent), and the oracle-order run, for the times the
    runs recorded. Nothing is trained here."""
    rho, extremes, missing = {}, {}, []
    for seed, folder in folders.items():
        p = RunPaths(folder, "oracle_order").run_json
        record = ((read_json(p).get("prior_cost") or {}).get("order_agreement")) if p.exists() else None
        if record:
            rho[f"seed{seed}"] = pd.Series(record["spearman"], dtype=float)
            extremes[seed] = record["extremes"]
        else:
            missing.append(seed)
    note = ""
    if missing:
        retrain = [s for s in missing if not RunPaths(folders[s], "baseline").checkpoint.exists()]
        secs = sum(_recorded_seconds(folders[s], "baseline") for s in retrain) + \
            sum(_recorded_seconds(folders[s], "oracle_order") for s in missing)
        note = (f"**Not in the results of seed{'s' if len(missing) > 1 else ''} "
                f"{', '.join(map(str, missing))}.** The order agreement needs a trained Baseline's network; the "
                f"oracle-order run stores it in `run_oracle_order.json` (`prior_cost.order_agreement`), and these "
                f"runs were trained before it did. This chapter does not retrain. Recomputing it means "
                + (f"retraining the Baseline of seed{'s' if len(retrain) > 1 else ''} "
                   f"{', '.join(map(str, retrain))} (checkpoints are git-ignored) and then " if retrain else "")
                + f"rerunning the oracle-order experiment (with `fresh`; this chapter's `fresh = True` reruns it "
                f"with the other ablations): about {secs / 60:.0f} min on the hardware the runs recorded (their "
                f"training clocks and scoring passes).")
    return OrderAgreement(pd.DataFrame(rho), extremes, missing, note)
