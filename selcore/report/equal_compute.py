"""Methods compared at equal executed compute: each run's held-out accuracy, executed training FLOPs and wall time,
their means and 95% intervals per (method, point), the accuracy/compute Pareto frontier, and per target accuracy
the method that reaches it with the least executed compute."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..registry import BASELINE, SPECS, spec
from ..sweep.plan import Job
from .axes import figure_axes
from .stats import bounds_of, epoch_seconds, format_ci, format_number, mean_ci, seed_values
from .sweep import experiment_runs

FAMILIES = {s.name: s.label for s in SPECS if s.label and s.family in ("original", "ablation", "extension")}
"""The method each experiment is a point of: a method's points differ only in how much compute they were given."""

STYLE = {family: (f"C{i}", marker) for i, (family, marker) in
         enumerate(zip(dict.fromkeys(FAMILIES.values()), ("o", "*", "s", "D", "^", "v")))}


def point_name(experiment: str, budget: float) -> str:
    """How a point is named in tables: its budget, or the schedule it ran (its registry entry's ``schedule``)."""
    if budget:
        return f"budget {100 * budget:g}%"
    return spec(experiment).schedule


def point_label(method: str, point: str) -> str:
    """A point in running text: its method, then its budget or schedule after a comma (no nested parentheses)."""
    return f"{method}, {point}" if point else method


def run_rows(jobs: Sequence[Job]) -> pd.DataFrame:
    """One row per finished experiment job: method, point, seed and the last epoch's held-out and full-test
    accuracy, executed training FLOPs (selection and scoring passes included), the original's proxy, mean gradient
    sparsity and wall time (the CSV's time, which includes each epoch's evaluation, plus the run's scoring pass)."""
    rows = []
    for j, hist, run in experiment_runs(jobs):
        last = hist.iloc[-1]
        prior = run.get("prior_cost") or {}
        budget = float(j.cfg.budget)
        rows.append({"method": FAMILIES[j.experiment], "point": point_name(j.experiment, budget),
                     "experiment": j.experiment, "budget": budget, "seed": j.seed,
                     "test_100": float(last["test_100"]), "test_full": float(last["test_full"]),
                     "exec_flops_T": float(last["exec_flops_T"]), "flops_T": float(last["flops_T"]),
                     "sparsity": float(hist["sparsity"].mean()), "epochs": len(hist),
                     "wall_s": float(last["time_s"]) + float(prior.get("time_s", 0.0)), "folder": j.root})
    return pd.DataFrame(rows)


def relative_to_baseline(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with ``exec_pct`` and ``wall_pct``: each run's executed FLOPs and wall time as % of its seed's full
    Baseline run."""
    base = runs[(runs.experiment == BASELINE) & (runs.budget == 0)].set_index("seed")
    out = runs.copy()
    out["exec_pct"] = 100 * out["exec_flops_T"] / out["seed"].map(base["exec_flops_T"])
    out["wall_pct"] = 100 * out["wall_s"] / out["seed"].map(base["wall_s"])
    return out


def baseline_epoch_seconds(jobs: Sequence[Job]) -> pd.Series:
    """``stats.epoch_seconds`` of the dense Baseline's runs (the full schedule and the budget points): the same work
    every epoch, so their spread is the machine's own variation from run to run and session to session."""
    return epoch_seconds(hist for j, hist, _ in experiment_runs(jobs) if j.experiment == BASELINE)


MEASURES = ("test_100", "test_full", "exec_flops_T", "exec_pct", "wall_s", "wall_pct", "sparsity", "epochs")


def per_point(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (method, point): n and, per measure, the mean and its 95% t-interval over the seeds."""
    rows = []
    for (method, point, experiment), g in runs.groupby(["method", "point", "experiment"], sort=False):
        row = {"method": method, "point": point, "experiment": experiment, "budget": g["budget"].iloc[0]}
        for m in MEASURES:
            st = mean_ci(g[m], bounds=bounds_of(m))
            row.update({m: st["mean"], f"{m} lo": st["lo"], f"{m} hi": st["hi"], f"{m} values": st["values"]})
        row["n"] = len(g)
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["method", "exec_flops_T"]).reset_index(drop=True)


def pareto(points: pd.DataFrame, cost: str = "exec_flops_T", gain: str = "test_100") -> pd.Series:
    """True for the points no other point beats: none has lower-or-equal mean ``cost`` and higher mean ``gain``
    (or equal gain at lower cost)."""
    c, g = points[cost].to_numpy(), points[gain].to_numpy()
    dominated = [bool(np.any(((c <= ci) & (g > gi)) | ((c < ci) & (g >= gi)))) for ci, gi in zip(c, g)]
    return pd.Series([not d for d in dominated], index=points.index)


def cheapest_per_target(points: pd.DataFrame, targets: Sequence[float]) -> pd.DataFrame:
    """Per target held-out accuracy: among the points whose mean reaches it, the one with the least mean executed
    FLOPs (method, point, its accuracy and compute); 'none' where no point reaches it."""
    rows = []
    for t in targets:
        ok = points[points["test_100"] >= t]
        if ok.empty:
            rows.append({"target (%)": t, "method": "none reaches it", "point": "", "accuracy": "",
                         "executed FLOPs (T)": "", "% of Baseline": ""})
            continue
        r = ok.loc[ok["exec_flops_T"].idxmin()]
        rows.append({"target (%)": t, "method": r["method"], "point": r["point"],
                     "accuracy": format_ci(r["test_100"], r["test_100 lo"], r["test_100 hi"]),
                     "executed FLOPs (T)": format_number(r["exec_flops_T"], sig=3),
                     "% of Baseline": format_number(r["exec_pct"], 1)})
    return pd.DataFrame(rows)


def targets(points: pd.DataFrame, fractions=(0.8, 0.9, 1.0)) -> list[float]:
    """Target accuracies: the given fractions of the full Baseline's mean held-out accuracy (rounded to 0.1)."""
    base = points[(points.experiment == BASELINE) & (points.budget == 0)]["test_100"].iloc[0]
    return [round(f * base, 1) for f in fractions]


def table(points: pd.DataFrame) -> pd.DataFrame:
    """``per_point`` as text: one 'mean [95% CI]' cell per measure, the Pareto points marked."""
    front = pareto(points)
    out = pd.DataFrame({
        "method": points["method"], "point": points["point"], "n": points["n"].astype(int),
        "held-out accuracy (%)": [format_ci(r["test_100"], r["test_100 lo"], r["test_100 hi"]) for _, r in points.iterrows()],
        "held-out accuracy per seed (%)": [seed_values(v) for v in points["test_100 values"]],
        "executed FLOPs (T)": [format_ci(r["exec_flops_T"], r["exec_flops_T lo"], r["exec_flops_T hi"], sig=3)
                               for _, r in points.iterrows()],
        "% of Baseline's FLOPs": [format_number(v, 1) for v in points["exec_pct"]],
        "wall time (s)": [format_ci(r["wall_s"], r["wall_s lo"], r["wall_s hi"], digits=0) for _, r in points.iterrows()],
        "% of Baseline's time": [format_number(v, 1) for v in points["wall_pct"]],
        "gradient sparsity": [format_number(v, 3) for v in points["sparsity"]],
        "Pareto (FLOPs)": ["yes" if f else "" for f in front],
    })
    return out


def figure(runs: pd.DataFrame, points: pd.DataFrame):
    """Two panels, held-out accuracy against executed training FLOPs and against wall time (both as % of the full
    Baseline's): each method's points joined in order of compute, mean with 95% intervals in both directions,
    each seed a faint dot; the Pareto frontier of the means dashed."""
    fig, axes = figure_axes((11, 4.2), ncols=2)
    for ax, (x, label) in zip(axes, (("exec_pct", "executed training FLOPs (% of the Baseline's)"),
                                     ("wall_pct", "wall time on this machine (% of the Baseline's)"))):
        for method, g in points.groupby("method", sort=False):
            color, marker = STYLE[method]
            g = g.sort_values(x)
            xerr = [(g[x] - g[f"{x} lo"]).fillna(0).to_numpy(), (g[f"{x} hi"] - g[x]).fillna(0).to_numpy()]
            yerr = [(g["test_100"] - g["test_100 lo"]).fillna(0).to_numpy(),
                    (g["test_100 hi"] - g["test_100"]).fillna(0).to_numpy()]
            ax.errorbar(g[x], g["test_100"], xerr=xerr, yerr=yerr, color=color, marker=marker, capsize=3,
                        markersize=8 if marker == "*" else 6, label=method)
            r = runs[runs.method == method]
            ax.scatter(r[x], r["test_100"], color=color, alpha=0.25, s=12)
        front = points[pareto(points, x)].sort_values(x)
        ax.plot(front[x], front["test_100"], color="0.3", linestyle="--", linewidth=1, label="Pareto frontier (means)")
        ax.axvline(100, color="0.8", linewidth=1)
        ax.set(xlabel=label, ylabel="held-out accuracy (%)")
    axes[0].set_title("accuracy against executed compute")
    axes[1].set_title("accuracy against wall time")
    axes[1].legend(fontsize=7, loc="lower right")
    return fig


def finding(points: pd.DataFrame, cheapest: pd.DataFrame) -> dict[str, str]:
    """The numbers of the chapter's finding, as text ('not run' for a point the runs lack)."""
    def at(experiment, budget=0.0):
        r = points[(points.experiment == experiment) & (points.budget == budget)]
        return None if r.empty else r.iloc[0]

    def acc(r):
        return f"{format_ci(r['test_100'], r['test_100 lo'], r['test_100 hi'])}%"

    def where(r, sparsity=False, of=""):
        if r is None:
            return "not run"
        extra = f" (gradient sparsity {format_number(r['sparsity'], 3)})" if sparsity else ""
        return f"{acc(r)} at {format_number(r['exec_pct'], 1)}%{of}{extra}"

    base = at("baseline")
    out = {"baseline": acc(base) if base is not None else "not run",
           "sel95": where(at("sel95"), of=" of the Baseline's executed FLOPs"),
           "dense_at_sel": where(at("dense_budget"))}
    for e in ("sb", "sb_topk"):
        pts = points[points.experiment == e].sort_values("budget")
        out[e] = "; ".join(where(r) for _, r in pts.iterrows()) or "not run"
    for e in ("adaptive", "adaptive_dense", "classweight", "classweight_dense"):
        out[e] = where(at(e), sparsity=True)
    front = points[pareto(points)]
    out["frontier"] = "; ".join(point_label(r["method"], r["point"])
                                for _, r in front.sort_values("exec_flops_T").iterrows())
    out["cheapest"] = "; ".join(f"{r['target (%)']:g}% held-out: {point_label(r['method'], r['point'])}"
                                + (f" with {r['% of Baseline']}% of the Baseline's FLOPs" if r["point"] else "")
                                for _, r in cheapest.iterrows())
    return out
