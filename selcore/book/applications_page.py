"""What the applications chapter does, once: run (or find finished) the data-parallel and Split CIFAR-10 runs through
the sweep machinery, glue the finding and figure, and return the tables."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from IPython.display import display

from ..config import COMMUNICATION, CONTINUAL
from ..paths import default_source
from ..paths import portable_path
from ..profiles import parse_seeds
from ..report import applications as report
from ..report.stats import format_minutes as minutes
from ..sweep.plan import Job, plan_sweep
from ..sweep.status import require_finished, status_table
from ..sweep.submit import run_sweep
from .launch import chapter_resources
from .chapter import glue_figure, glue_value
from .page import banner, jobs_table, table
from .params import REPO_ROOT


@dataclass
class Applications:
    comm_runs: pd.DataFrame
    comm: pd.DataFrame       # per exchange, over seeds
    stages: pd.DataFrame     # per exchange, seed and stage
    split_runs: pd.DataFrame
    split: pd.DataFrame      # per method and task, over seeds
    jobs: list[Job]
    records: list

    def comm_table(self):
        return table(report.comm_table(self.comm).style.hide(axis="index"),
                     "Data-parallel SEL-95 (two workers), one row per gradient exchange: held-out accuracy after the "
                     "last stage, the bytes one worker handed to the collectives over the run (values, positions, "
                     "counts and the 4-byte loss of each step; padding to the larger worker's message included), "
                     "the dense all-reduce's bytes for the same steps, their ratio, the fraction of gradient entries "
                     "sent, and the wall time (training, evaluation and scoring), as mean [95% CI] over n seeds.")

    def stage_table(self):
        return table(report.stage_table(self.stages).style.hide(axis="index"),
                     "Per SEL stage, bytes per worker per step as % of the dense message: handed to the collectives "
                     "(padding included), the message itself with one encoding per bucket, and for SEL the "
                     "per-tensor estimate (each tensor's values plus the smaller of int32 indices and a bitmap).")

    def split_table(self):
        return table(report.split_table(self.split).style.hide(axis="index"),
                     "Split CIFAR-10 after the last task: average accuracy over the five tasks and average forgetting "
                     "(the drop from each earlier task's best accuracy), class-incremental (10-way) and "
                     "task-incremental (within the task's two classes), the mean gradient sparsity during the last "
                     "task, executed training FLOPs (replayed images included) and wall time, as mean [95% CI].")

    def per_task(self):
        s = self.split
        shown = pd.DataFrame({"method": s["method"], "after task": s["task"].astype(int),
                              "average accuracy, class-incr. (%)": s["cil_acc"].round(1),
                              "forgetting, class-incr. (pp)": s["cil_forgetting"].round(1),
                              "average accuracy, task-incr. (%)": s["til_acc"].round(1),
                              "forgetting, task-incr. (pp)": s["til_forgetting"].round(1), "n": s["n"]})
        return table(shown.style.format(precision=1).hide(axis="index"),
                     "After each task, each method's means over the seeds (the figure shows their intervals).")

    def per_run(self):
        c = self.comm_runs.assign(folder=[portable_path(f, REPO_ROOT) for f in self.comm_runs["folder"]])
        return table(c[["exchange", "seed", "test_100", "sent_MB", "dense_MB", "sent_pct", "density", "wall_s",
                        "workers", "folder"]].style.format({"test_100": "{:.1f}", "sent_MB": "{:.1f}",
                                                             "dense_MB": "{:.1f}", "sent_pct": "{:.1f}",
                                                             "density": "{:.3f}", "wall_s": "{:.0f}"}
                                                            ).hide(axis="index"),
                     "Every data-parallel run: held-out accuracy (%), MB sent per worker, MB of the dense "
                     "all-reduce, their ratio (%), entries sent, wall time (s), workers and results folder.")

    def status(self):
        rows = [r for rec in self.records for r in status_table(*rec)]
        return jobs_table(rows, "The chapter's jobs and their states (python -m selcore sweep --status gives each "
                                "job's id and log files).")


def sweep_name(profile: str) -> str:
    return f"book-{profile}-applications"


def planned_jobs(profile: str, seeds: Any, data: str, results_root: str) -> list[Job]:
    """Every job of the chapter, planned (not run): what a reader of committed results checks."""
    return plan_sweep(profile, list(COMMUNICATION + CONTINUAL), parse_seeds(seeds, profile), {}, data, {},
                      results_root)


def run(profile: str, data: str, results_root: str, seeds: Any, executor: str = "local",
        cpus: int = 0) -> Applications:
    """Run the data-parallel and Split CIFAR-10 experiments over ``seeds`` (finished jobs skipped, so the committed
    book only reads), glue ``app_*`` and return the tables."""
    res = chapter_resources(profile, executor, cpus)
    data = data or default_source()
    display(banner(profile, data))
    record, jobs = run_sweep(profile, list(COMMUNICATION + CONTINUAL), parse_seeds(seeds, profile), {}, data,
                             results_root=results_root, executor=executor, res=res, name=sweep_name(profile))
    records = [(record, jobs)]
    require_finished(status_table(record, jobs))
    comm_runs = report.comm_runs(jobs)
    comm = report.comm_summary(comm_runs)
    stages = report.comm_stages(jobs)
    split_runs = report.split_runs(jobs)
    split = report.split_summary(split_runs)
    for key, text in report.finding(comm, split_runs, split, comm_runs).items():
        glue_value(f"app_{key}", text)
    glue_value("app_n", str(int(min(comm["n"].min(), split["n"].min()))))
    glue_value("app_split_seeds", ", ".join(str(int(s)) for s in sorted(split_runs["seed"].unique())))
    glue_value("app_workers", str(int(comm_runs["workers"].iloc[0])))
    glue_value("app_tasks", str(int(split["task"].max())))
    last = split_runs[split_runs["task"] == split_runs["task"].max()]
    wall = float(comm_runs["wall_s"].sum() + last["wall_s"].sum())
    glue_value("app_wall", f"{len(comm_runs) + len(last)} runs, {minutes(wall)} of run time in all "
                           f"({minutes(wall / max(1, comm_runs['seed'].nunique()))} per seed)")
    glue_figure("app_fig_finding", report.figure(stages, split_runs))
    return Applications(comm_runs, comm, stages, split_runs, split, jobs, records)
