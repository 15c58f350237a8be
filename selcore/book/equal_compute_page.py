"""What the equal-compute chapter does, once: run (or find finished) every method's points through the sweep
machinery, measure Selective Backprop's epoch against a dense one in one run, glue the finding and figure, and
return the tables."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.display import display

from ..config import ConfigError
from ..studies.bench import compare_epochs
from ..paths import default_source
from ..paths import epoch_comparison_path, portable_path
from ..profiles import parse_seeds, profile_config, results_dir
from ..report import equal_compute as report
from ..report.stats import epoch_spread_text
from ..sweep.plan import Job, parse_grid, plan_sweep
from ..sweep.status import require_finished, status_table
from ..sweep.submit import run_sweep
from .launch import chapter_resources
from .chapter import glue_figure, glue_value
from .page import banner, csv_link, jobs_table, table
from .timing import measured_once
from .params import REPO_ROOT

BUDGETED = ("baseline", "sb", "sb_topk")
"""The methods run at each budget (a fraction of the Baseline's executed FLOPs)."""
OWN_SCHEDULE = ("baseline", "sel95", "dense_budget", "adaptive", "classweight", "adaptive_dense", "classweight_dense")
"""The runs at their own schedule (the Baseline, SEL-95 and the dense run at SEL-95's budget are the other chapters'
runs, read rather than retrained)."""


@dataclass
class EqualCompute:
    runs: pd.DataFrame       # one row per (method, point, seed): report.run_rows + relative_to_baseline
    points: pd.DataFrame     # per (method, point): report.per_point
    cheapest: pd.DataFrame   # per target accuracy: report.cheapest_per_target
    epochs: pd.DataFrame     # Selective Backprop's epoch vs a dense one: studies.bench.compare_epochs
    epochs_file: str
    jobs: list[Job]
    records: list

    def table(self):
        return table(report.table(self.points).style.hide(axis="index"),
                     "Each method at each compute point: the last epoch's held-out accuracy, the executed training "
                     "FLOPs (selection and scoring passes included; 10^12) and the wall time (each epoch's "
                     "evaluation and the scoring pass included) as mean [95% CI] over n seeds, and as % of the full "
                     "Baseline's; gradient sparsity is the mean over the run's epochs; 'yes' marks the points on "
                     "the accuracy/executed-FLOPs Pareto frontier of the means.")

    def targets(self):
        return table(self.cheapest.style.format({"target (%)": "{:.1f}"}).hide(axis="index"),
                     "Per target held-out accuracy (80%, 90% and 100% of the full Baseline's mean): the point whose "
                     "mean reaches it with the least mean executed FLOPs, with its accuracy as mean [95% CI].")

    def epoch_table(self):
        cols = ["step", "images_per_s", "time_ratio", "flops_ratio", "device", "width", "batch_size", "images",
                "repeats", "time_utc"]
        shown = self.epochs[cols].rename(columns={"time_ratio": "epoch time / dense", "flops_ratio":
                                                  "executed FLOPs / dense", "images_per_s": "images/s"})
        return table(shown.style.format({"images/s": "{:.0f}", "epoch time / dense": "{:.3f}",
                                         "executed FLOPs / dense": "{:.3f}"}).hide(axis="index"),
                     "One epoch of each kind over the same images, timed in one run on this machine (median of "
                     "the repeats after a warm-up epoch): images/s counts the images an epoch passes over (scored "
                     "or trained), so the time ratio is the ratio of epoch times.")

    def epochs_link(self):
        path = Path(self.epochs_file)
        return csv_link(path, root=path.parents[1])  # <results root>/<profile>/epoch_comparison.csv

    def per_run(self):
        cols = ["method", "point", "seed", "test_100", "exec_flops_T", "exec_pct", "wall_s", "wall_pct", "epochs",
                "folder"]
        frame = self.runs[cols].assign(folder=[portable_path(f, REPO_ROOT) for f in self.runs["folder"]])
        return table(frame.style.format({"test_100": "{:.1f}", "exec_flops_T": "{:.4g}", "exec_pct": "{:.1f}",
                                         "wall_s": "{:.0f}", "wall_pct": "{:.1f}"}).hide(axis="index"),
                     "Every run: the last epoch of one seed at one point (held-out accuracy %, executed FLOPs in "
                     "10^12 and as % of its seed's Baseline, wall time in s and as %, epochs trained) and the "
                     "results folder it wrote.")

    def status(self):
        rows = [r for rec in self.records for r in status_table(*rec)]
        return jobs_table(rows, "The jobs of the chapter's two sweeps and their states (python -m selcore sweep "
                                "--status also gives each job's id and log files).")


def sweeps(profile: str, seeds: Any, budgets: str) -> list[tuple[str, tuple, dict]]:
    """The chapter's two sweeps as (name, experiments, grid): the runs at their own schedule and the budgeted ones."""
    grid = parse_grid([f"budget={budgets}"])
    if any(not 0 < b < 1 for b in grid["budget"]):
        raise ConfigError(f"bad parameter budgets={budgets!r}: fractions of the Baseline's compute in (0, 1) (the "
                          f"full Baseline is the 100% point)")
    return [(f"book-{profile}-equal-compute", OWN_SCHEDULE, {}),
            (f"book-{profile}-equal-compute-budgets", BUDGETED, grid)]


def planned_jobs(profile: str, seeds: Any, budgets: str, data: str, results_root: str) -> list[Job]:
    """Every job of the chapter's sweeps, planned (not run): what a reader of committed results checks."""
    return [j for _, exps, grid in sweeps(profile, seeds, budgets)
            for j in plan_sweep(profile, list(exps), parse_seeds(seeds, profile), grid, data, {}, results_root)]


def _epochs(profile: str, data: str, results_root: str, images: int, repeats: int) -> tuple[pd.DataFrame, str]:
    """The epoch comparison of this profile's results folder, measured once and kept (delete the file to measure
    again)."""
    path = epoch_comparison_path(results_dir(profile, results_root))
    cfg = profile_config(profile, "sb", data=data).replace(progress="none")
    return measured_once(path, lambda: compare_epochs(cfg, images, repeats)), str(path)


def run(profile: str, data: str, results_root: str, seeds: Any, budgets: str, executor: str = "local",
        cpus: int = 0, bench_images: int = 1000, bench_repeats: int = 3) -> EqualCompute:
    """Run every method's points over ``seeds`` (finished jobs skipped, so the committed book only reads), measure the
    epoch comparison (kept in the profile's results folder), glue ``ec_*`` and return the tables."""
    res = chapter_resources(profile, executor, cpus)
    plan = sweeps(profile, seeds, budgets)
    seed_list = parse_seeds(seeds, profile)
    data = data or default_source()
    display(banner(profile, data))
    records, jobs = [], []
    for name, exps, g in plan:
        record, js = run_sweep(profile, list(exps), seed_list, g, data, results_root=results_root,
                               executor=executor, res=res, name=name)
        records.append((record, js))
        jobs += js
    require_finished([r for rec in records for r in status_table(*rec)])
    runs = report.relative_to_baseline(report.run_rows(jobs))
    points = report.per_point(runs)
    cheapest = report.cheapest_per_target(points, report.targets(points))
    epochs, epochs_file = _epochs(profile, data, results_root, bench_images, bench_repeats)
    for key, text in report.finding(points, cheapest).items():
        glue_value(f"ec_{key}", text)
    glue_value("ec_n", str(int(points["n"].min())))
    glue_value("ec_budgets", ", ".join(f"{100 * b:g}%" for b in plan[1][2]["budget"]))
    for step in ("sb", "sb_topk"):
        r = epochs[epochs.step == step].iloc[0]
        glue_value(f"ec_{step}_epoch", f"{r['time_ratio']:.2f}x the wall time and {r['flops_ratio']:.2f}x the "
                                       f"executed FLOPs of a dense epoch")
    glue_value("ec_epoch_device", str(epochs["device"].iloc[0]))
    glue_value("ec_epoch_spread", epoch_spread_text(report.baseline_epoch_seconds(jobs)))
    glue_figure("ec_fig_finding", report.figure(runs, points))
    return EqualCompute(runs, points, cheapest, epochs, epochs_file, jobs, records)
