"""The release's two application claims, measured: bytes a data-parallel worker sends (per stage, per run) with the
accuracy each gradient exchange reached, and forgetting on Split CIFAR-10 (the accuracy matrix, average accuracy and
forgetting after each task, class- and task-incremental), over seeds."""
from __future__ import annotations

from typing import Sequence

import pandas as pd
from matplotlib.ticker import MaxNLocator

from ..config import COMMUNICATION, CONTINUAL, EXPERIMENT_TITLES
from ..engine import continual
from ..registry import names, spec
from ..sweep.plan import Job
from .axes import figure_axes
from .stats import PP, bounds_of, format_ci, format_number, mean_ci, seed_values
from .sweep import experiment_runs

EXCHANGE = {e: spec(e).label for e in COMMUNICATION}
"""What each data-parallel experiment's exchange sends (its registry label)."""
SPARSE_EXCHANGES = tuple(e for e in COMMUNICATION if spec(e).exchange != "dense")
"""The data-parallel experiments that send part of the gradient (their registry entry's ``exchange``)."""
SEL_EXCHANGE = names("communication", exchange="sel")[0]
"""The data-parallel experiment that sends SEL's kept entries (its per-tensor estimate is drawn beside it)."""
SPLIT = {e: spec(e).label for e in CONTINUAL}
"""Each Split CIFAR-10 variant (its registry label)."""
COLORS = {name: f"C{i}" for i, name in enumerate(list(EXCHANGE) + list(SPLIT))}


def run_bytes(hist: pd.DataFrame, col: str = "comm_bytes") -> float:
    """A run's bytes per worker: sum over epochs of (steps x mean bytes per step) of column ``col``."""
    return float((hist[col] * hist["comm_steps"]).sum())


# ---------------------------------------------------------------------------- communication
def comm_runs(jobs: Sequence[Job]) -> pd.DataFrame:
    """One row per finished data-parallel run: exchange, seed, the last epoch's held-out accuracy, the bytes one
    worker handed to the collectives over the run and the dense all-reduce's bytes for the same steps (both in MB),
    sent as % of dense, the mean fraction of entries sent, wall time (training and evaluation; the scoring pass
    added) and the number of workers."""
    rows = []
    for j, hist, run in experiment_runs(jobs):
        if j.experiment not in COMMUNICATION:
            continue
        prior = run.get("prior_cost") or {}
        sent, dense = run_bytes(hist), run_bytes(hist, "comm_dense_bytes")
        rows.append({"experiment": j.experiment, "exchange": EXCHANGE[j.experiment], "seed": j.seed,
                     "test_100": float(hist["test_100"].iloc[-1]), "sent_MB": sent / 1e6, "dense_MB": dense / 1e6,
                     "sent_pct": 100 * sent / dense, "density": float((hist["comm_density"] * hist["comm_steps"]).sum()
                                                                      / hist["comm_steps"].sum()),
                     "wall_s": float(hist["time_s"].iloc[-1]) + float(prior.get("time_s", 0.0)),
                     "workers": int(run.get("workers", 0)), "folder": j.root})
    return pd.DataFrame(rows)


def comm_stages(jobs: Sequence[Job]) -> pd.DataFrame:
    """Per exchange, seed and SEL stage: bytes per worker per step as % of the dense message: what was handed to the
    collectives (padding to the larger worker's message included), the message itself (one encoding per bucket),
    and, for SEL, the per-tensor estimate (each tensor values + the smaller of int32 indices and a bitmap); and the
    fraction of entries sent. Part (a) of the question: what a worker would send if it sent only SEL's kept entries."""
    rows = []
    for j, hist, _ in experiment_runs(jobs):
        if j.experiment not in COMMUNICATION:
            continue
        for stage, g in hist.groupby("stage"):
            w = g["comm_steps"]
            dense = float((g["comm_dense_bytes"] * w).sum())
            rows.append({"experiment": j.experiment, "exchange": EXCHANGE[j.experiment], "seed": j.seed,
                         "stage": int(stage), "sent_pct": 100 * float((g["comm_bytes"] * w).sum()) / dense,
                         "msg_pct": 100 * float((g["comm_msg_bytes"] * w).sum()) / dense,
                         "tensor_pct": 100 * float((g["comm_tensor_bytes"] * w).sum()) / dense
                         if spec(j.experiment).exchange == "sel" else float("nan"),
                         "density": float((g["comm_density"] * w).sum() / w.sum()),
                         "dense_bytes_per_step": float(g["comm_dense_bytes"].iloc[0])})
    return pd.DataFrame(rows)


def _stats(frame: pd.DataFrame, keys: list[str], measures: Sequence[str]) -> pd.DataFrame:
    rows = []
    for k, g in frame.groupby(keys, sort=False):
        row = dict(zip(keys, k if isinstance(k, tuple) else (k,)))
        for m in measures:
            st = mean_ci(g[m].dropna(), bounds=bounds_of(m))
            row.update({m: st["mean"], f"{m} lo": st["lo"], f"{m} hi": st["hi"], f"{m} values": st["values"]})
        row["n"] = len(g)
        rows.append(row)
    return pd.DataFrame(rows)


def comm_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per exchange: mean and 95% interval over the seeds of every measure of ``comm_runs``."""
    return _stats(runs, ["experiment", "exchange"], ("test_100", "sent_MB", "dense_MB", "sent_pct", "density", "wall_s"))


def comm_table(summary: pd.DataFrame) -> pd.DataFrame:
    def ci(r, m, **kw):
        return format_ci(r[m], r[f"{m} lo"], r[f"{m} hi"], **kw)
    return pd.DataFrame({
        "exchange": summary["exchange"], "n": summary["n"].astype(int),
        "held-out accuracy (%)": [ci(r, "test_100") for _, r in summary.iterrows()],
        "sent, % of dense, per seed": [seed_values(v) for v in summary["sent_pct values"]],
        "sent per worker (MB)": [ci(r, "sent_MB", sig=3) for _, r in summary.iterrows()],
        "dense all-reduce (MB)": [ci(r, "dense_MB", sig=3) for _, r in summary.iterrows()],
        "sent, % of dense": [ci(r, "sent_pct") for _, r in summary.iterrows()],
        "entries sent": [ci(r, "density", digits=3) for _, r in summary.iterrows()],
        "wall time (s)": [ci(r, "wall_s", digits=0) for _, r in summary.iterrows()]})


def stage_table(stages: pd.DataFrame) -> pd.DataFrame:
    """``comm_stages`` over the seeds, per exchange and stage, as text."""
    st = _stats(stages, ["exchange", "stage"], ("sent_pct", "msg_pct", "tensor_pct", "density"))
    st = st[st["exchange"].isin([EXCHANGE[e] for e in SPARSE_EXCHANGES])]

    def ci(r, m, **kw):
        return format_ci(r[m], r[f"{m} lo"], r[f"{m} hi"], **kw) if pd.notna(r[m]) else "-"
    return pd.DataFrame({
        "exchange": st["exchange"], "stage": st["stage"].astype(int), "n": st["n"].astype(int),
        "entries sent": [ci(r, "density", digits=3) for _, r in st.iterrows()],
        "sent, % of dense": [ci(r, "sent_pct") for _, r in st.iterrows()],
        "message, % of dense (per bucket)": [ci(r, "msg_pct") for _, r in st.iterrows()],
        "message, % of dense (per tensor)": [ci(r, "tensor_pct") for _, r in st.iterrows()]})


# ---------------------------------------------------------------------------- forgetting
def accuracy_matrix(hist: pd.DataFrame, kind: str = "cil") -> list[list[float]]:
    """A[t][j]: the accuracy (%) on task j's test images at the end of task t (the last epoch logged in task t);
    ``kind`` 'cil' (class-incremental) or 'til' (task-incremental)."""
    tasks = sorted(hist["task"].unique())
    ends = hist.groupby("task").tail(1).set_index("task")
    return [[float(ends.loc[t, f"{kind}_task{j}"]) for j in tasks] for t in tasks]


def split_runs(jobs: Sequence[Job]) -> pd.DataFrame:
    """One row per finished Split CIFAR-10 run and task t: average accuracy and forgetting after task t, class- and
    task-incremental (``continual.average_accuracy``, ``continual.forgetting``), the run's gradient sparsity during
    task t, its executed FLOPs so far and wall time."""
    rows = []
    for j, hist, run in experiment_runs(jobs):
        if j.experiment not in CONTINUAL:
            continue
        A = {k: accuracy_matrix(hist, k) for k in ("cil", "til")}
        ends = hist.groupby("task").tail(1).reset_index(drop=True)
        for t in range(len(ends)):
            task = hist[hist["task"] == t + 1]
            rows.append({"experiment": j.experiment, "method": SPLIT[j.experiment], "seed": j.seed, "task": t + 1,
                         **{f"{k}_acc": continual.average_accuracy(A[k], t) for k in A},
                         **{f"{k}_forgetting": continual.forgetting(A[k], t) for k in A},
                         "sparsity": float(task["sparsity"].mean()),
                         "exec_flops_T": float(ends["exec_flops_T"].iloc[t]), "wall_s": float(ends["time_s"].iloc[t]),
                         "folder": j.root})
    return pd.DataFrame(rows)


SPLIT_MEASURES = ("cil_acc", "cil_forgetting", "til_acc", "til_forgetting", "sparsity", "exec_flops_T", "wall_s")


def split_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per method and task: mean and 95% interval over the seeds of every measure of ``split_runs``."""
    return _stats(runs, ["experiment", "method", "task"], SPLIT_MEASURES)


def split_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The last task's row of each method as text."""
    last = summary[summary["task"] == summary["task"].max()]

    def ci(r, m, **kw):
        return format_ci(r[m], r[f"{m} lo"], r[f"{m} hi"], **kw)
    return pd.DataFrame({
        "method": last["method"], "n": last["n"].astype(int),
        "average accuracy, class-incr. (%)": [ci(r, "cil_acc") for _, r in last.iterrows()],
        "forgetting, class-incr. (pp)": [ci(r, "cil_forgetting") for _, r in last.iterrows()],
        "forgetting per seed, class-incr. (pp)": [seed_values(v) for v in last["cil_forgetting values"]],
        "average accuracy, task-incr. (%)": [ci(r, "til_acc") for _, r in last.iterrows()],
        "forgetting, task-incr. (pp)": [ci(r, "til_forgetting") for _, r in last.iterrows()],
        "gradient sparsity": [format_number(r["sparsity"], 3) for _, r in last.iterrows()],
        "executed FLOPs (T)": [ci(r, "exec_flops_T", sig=3) for _, r in last.iterrows()],
        "wall time (s)": [ci(r, "wall_s", digits=0) for _, r in last.iterrows()]})


def paired(runs: pd.DataFrame, a: str, b: str, measure: str, task: int | None = None) -> dict:
    """mean_ci over the seeds both ran of (``a`` minus ``b``) in ``measure`` after ``task`` (default: the last), a
    difference of percentages bounded to [-100, 100] pp."""
    task = task or int(runs["task"].max())
    r = runs[runs["task"] == task].set_index(["experiment", "seed"])[measure]
    seeds = sorted(set(r[a].index) & set(r[b].index))
    return mean_ci([r[a][s] - r[b][s] for s in seeds], bounds=PP)


# ---------------------------------------------------------------------------- the chapter's finding
def figure(stages: pd.DataFrame, split: pd.DataFrame):
    """Three panels: (a) bytes a worker sent per step as % of the dense all-reduce's, per SEL stage (SEL's kept
    entries and top-k with error feedback; SEL's per-tensor estimate dashed); (b) class-incremental average accuracy
    and (c) class-incremental forgetting after each Split CIFAR-10 task, per method. Means over the seeds with 95%
    intervals, each seed a faint dot."""
    fig, axes = figure_axes((14, 4.2), ncols=3)

    def line(ax, frame, x, y, label, color, style="-"):
        st = _stats(frame, [x], (y,)).sort_values(x)
        yerr = [(st[y] - st[f"{y} lo"]).fillna(0).to_numpy(), (st[f"{y} hi"] - st[y]).fillna(0).to_numpy()]
        ax.errorbar(st[x], st[y], yerr=yerr, color=color, linestyle=style, marker="o", capsize=3, label=label)
        ax.scatter(frame[x], frame[y], color=color, alpha=0.25, s=12)

    for e in SPARSE_EXCHANGES:
        g = stages[stages.experiment == e]
        if not g.empty:
            line(axes[0], g, "stage", "sent_pct", f"{EXCHANGE[e]}: sent", COLORS[e])
    g = stages[stages.experiment == SEL_EXCHANGE]
    if not g.empty:
        line(axes[0], g, "stage", "tensor_pct", "SEL: per-tensor estimate", COLORS[SEL_EXCHANGE], "--")
    axes[0].axhline(100, color="0.5", linewidth=1, label="dense all-reduce")
    axes[0].set(xlabel="SEL stage", ylabel="bytes per worker per step (% of dense)",
                title="(a) gradient exchange, data-parallel SEL-95")
    axes[0].set_ylim(bottom=0)
    axes[0].legend(fontsize=7)
    for ax, y, title in ((axes[1], "cil_acc", "(b) average accuracy, class-incremental"),
                         (axes[2], "cil_forgetting", "(c) forgetting, class-incremental")):
        for e, name in SPLIT.items():
            g = split[split.experiment == e]
            if not g.empty:
                line(ax, g, "task", y, name, COLORS[e])
        ax.set(xlabel="after task", title=title,
               ylabel="average accuracy (%)" if y.endswith("acc") else "forgetting (pp)")
    axes[1].legend(fontsize=7)
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def finding(comm: pd.DataFrame, split_runs_: pd.DataFrame, split: pd.DataFrame,
            runs: pd.DataFrame | None = None) -> dict[str, str]:
    """The numbers of the chapter's finding, as text; with `runs` (comm_runs) also each seed's bytes sent and
    density (`<experiment>_sent_seeds`), since a mean over few seeds hides a wide spread."""
    out = {}
    if runs is not None:
        for e, g in runs.sort_values("seed").groupby("experiment"):
            out[f"{e}_sent_seeds"] = ", ".join(f"{r.sent_pct:.1f}% (density {r.density:.2f}, seed {r.seed})"
                                               for r in g.itertuples())
    for _, r in comm.iterrows():
        e = r["experiment"]
        out[f"{e}_acc"] = f"{format_ci(r['test_100'], r['test_100 lo'], r['test_100 hi'])}%"
        out[f"{e}_sent"] = f"{format_ci(r['sent_pct'], r['sent_pct lo'], r['sent_pct hi'])}%"
        out[f"{e}_density"] = format_ci(r["density"], r["density lo"], r["density hi"], digits=3)
        out[f"{e}_wall"] = f"{format_ci(r['wall_s'], r['wall_s lo'], r['wall_s hi'], digits=0)} s"
    last = split[split["task"] == split["task"].max()]
    for _, r in last.iterrows():
        e = r["experiment"]
        for m in ("cil_acc", "cil_forgetting", "til_acc", "til_forgetting"):
            unit = "%" if m.endswith("acc") else " pp"
            out[f"{e}_{m}"] = f"{format_ci(r[m], r[f'{m} lo'], r[f'{m} hi'])}{unit}"
    for other in ("split_dense", "split_random"):
        d = paired(split_runs_, other, "split_sel", "cil_forgetting")
        out[f"sel_vs_{other}"] = f"{format_ci(d['mean'], d['lo'], d['hi'])} pp"
    return out


def titles() -> dict[str, str]:
    return {e: EXPERIMENT_TITLES[e] for e in COMMUNICATION + CONTINUAL}
