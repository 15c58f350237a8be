"""A sweep's results against its swept setting: the last epoch of every (setting, seed) run, their mean and 95%
interval per setting, the text of the sweep chapter's finding, and its figure."""
from __future__ import annotations

from typing import Iterator, Sequence

import pandas as pd

from ..engine.results import read_json
from ..paths import RunPaths
from ..sweep.plan import Job
from .axes import figure_axes
from .stats import format_ci, format_columns, format_number, over_seeds
from .summary import read_history

SWEEP_METRICS = {"held-out accuracy (%)": "test_100", "full-test accuracy (%)": "test_full",
                 "gradient sparsity (SEL epochs)": "sel_sparsity", "proxy FLOPs (T)": "flops_T",
                 "executed FLOPs (T)": "exec_flops_T", "time (s)": "time_s"}
"""What the sweep chapter states per setting (last epoch; sparsity averaged over the SEL stages' epochs)."""

FORMATS = {"test_100": {"digits": 1}, "test_full": {"digits": 1}, "sel_sparsity": {"digits": 3},
           "flops_T": {"sig": 3}, "exec_flops_T": {"sig": 4}, "time_s": {"digits": 0}}


def experiment_runs(jobs: Sequence[Job]) -> Iterator[tuple[Job, pd.DataFrame, dict]]:
    """Each experiment job of a sweep with its history (the CSV) and its run record (run.json; {} if absent)."""
    for j in jobs:
        if j.kind != "experiment":
            continue
        paths = RunPaths(j.root, j.experiment)
        yield j, read_history(paths.csv), (read_json(paths.run_json) if paths.run_json.exists() else {})


def sweep_results(jobs: Sequence[Job], field: str) -> pd.DataFrame:
    """One row per finished experiment job: the swept ``field``'s value, experiment, seed, the last epoch's
    measures (``SWEEP_METRICS``), gamma0 and the results folder."""
    rows = []
    for j, hist, run in experiment_runs(jobs):
        last = hist.iloc[-1]
        sel = hist[hist["stage"] > 0] if "stage" in hist else hist.iloc[0:0]
        rows.append({field: getattr(j.cfg, field), "experiment": j.experiment, "seed": j.seed,
                     **{c: float(last[c]) for c in SWEEP_METRICS.values() if c in last},
                     "sel_sparsity": float(sel["sparsity"].mean()) if len(sel) else float("nan"),
                     "gamma0": (run.get("prior_cost") or {}).get("gamma0"), "folder": j.root})
    return pd.DataFrame(rows).sort_values([field, "experiment", "seed"]).reset_index(drop=True)


def per_setting(results: pd.DataFrame, field: str) -> pd.DataFrame:
    """Per (setting, experiment): n and, for each measure, the mean, std and 95% t-interval over the seeds
    (``stats.over_seeds`` of each seed's table)."""
    cols = list(SWEEP_METRICS.values()) + ["gamma0"]
    tables = [g.set_index([field, "experiment"]) for _, g in results.groupby("seed", sort=True)]
    out = over_seeds(tables, cols)
    out.index = pd.MultiIndex.from_tuples(out.index, names=[field, "experiment"])
    return out.sort_index()


def table(stats: pd.DataFrame) -> pd.DataFrame:
    """``per_setting`` as text, one 'mean [95% CI]' cell per measure."""
    out = format_columns(stats, FORMATS, {v: k for k, v in SWEEP_METRICS.items()})
    field = stats.index.names[0]
    out.index = pd.MultiIndex.from_tuples([(format_number(v, sig=6), e) for v, e in stats.index],
                                          names=[field, "experiment"])
    return out


def finding(stats: pd.DataFrame, field: str, experiment: str) -> dict[str, str]:
    """The numbers of the chapter's finding, as text: per setting the held-out accuracy (mean [95% CI]), the range
    of the setting's mean sparsity and proxy FLOPs, and the executed FLOPs (one figure when every setting executed
    the same, else their range)."""
    s = stats.xs(experiment, level="experiment")
    lo, hi = s.index.min(), s.index.max()
    exec_lo, exec_hi = s["exec_flops_T"].min(), s["exec_flops_T"].max()
    same = exec_hi - exec_lo <= 1e-9 * max(1.0, exec_hi)
    return {
        "values": ", ".join(format_number(v, sig=6) for v in s.index),
        "n": str(int(s["n"].min())) if s["n"].min() == s["n"].max() else f"{int(s['n'].min())}-{int(s['n'].max())}",
        "acc": "; ".join(f"{format_number(v, sig=6)}: {format_ci(r['test_100'], r['test_100 lo'], r['test_100 hi'])}%"
                         for v, r in s.iterrows()),
        "sparsity": f"{format_number(s.loc[lo, 'sel_sparsity'], 3)} at {field} {format_number(lo, sig=6)} to "
                    f"{format_number(s.loc[hi, 'sel_sparsity'], 3)} at {format_number(hi, sig=6)}",
        "proxy": f"{format_number(s['flops_T'].min(), sig=3)} to {format_number(s['flops_T'].max(), sig=3)} T",
        "exec": (f"stayed at {format_number(exec_lo, sig=4)} T at every setting" if same else
                 f"ranged from {format_number(exec_lo, sig=4)} to {format_number(exec_hi, sig=4)} T"),
        "acc_range": f"{format_number(s['test_100'].min(), 1)} to {format_number(s['test_100'].max(), 1)}%",
    }


def figure(results: pd.DataFrame, stats: pd.DataFrame, field: str, experiment: str, title: str):
    """Two panels against the swept setting: held-out accuracy, and executed and proxy training FLOPs (log
    scale); each seed a dot, the mean a line with its 95% interval as error bars."""
    r = results[results["experiment"] == experiment]
    s = stats.xs(experiment, level="experiment")
    fig, (ax_acc, ax_fl) = figure_axes((10, 3.8), ncols=2)
    x = s.index.to_numpy(dtype=float)

    def band(ax, col, label, color, marker):
        err = [(s[col] - s[f"{col} lo"]).fillna(0).to_numpy(), (s[f"{col} hi"] - s[col]).fillna(0).to_numpy()]
        ax.errorbar(x, s[col], yerr=err, color=color, marker=marker, capsize=4, label=f"{label}: mean, 95% CI")
        ax.scatter(r[field], r[col], color=color, alpha=0.35, s=18, label=f"{label}: each seed")

    band(ax_acc, "test_100", "held-out accuracy", "C0", "o")
    ax_acc.set(xlabel=field, ylabel="held-out accuracy (%)", title=f"{title}: accuracy")
    band(ax_fl, "exec_flops_T", "executed", "C3", "s")
    band(ax_fl, "flops_T", "original's proxy", "C2", "^")
    ax_fl.set(xlabel=field, ylabel="training FLOPs (T, log scale)", yscale="log", title=f"{title}: compute")
    ax_acc.legend(fontsize=8)
    ax_fl.legend(fontsize=8, loc="center right")
    for ax in (ax_acc, ax_fl):
        ax.set_xticks(x)
    return fig
