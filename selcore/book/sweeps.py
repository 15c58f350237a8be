"""What the sweep chapter does, once: run (or find finished) a sweep of one experiment over one ``Config`` field
and the seeds, through the sweep machinery (``selcore.sweep``), then glue its finding and figure and return its
tables."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from IPython.display import display

from ..config import EXPERIMENT_TITLES
from ..paths import default_source
from ..paths import portable_path
from ..profiles import parse_seeds
from ..report import sweep as report
from ..sweep.plan import Job, parse_grid
from ..sweep.status import SweepRecord, require_finished, status_table
from ..sweep.submit import run_sweep
from .launch import chapter_resources
from .chapter import glue_value, glue_figure
from .page import banner, jobs_table, table
from .params import REPO_ROOT


@dataclass
class SweepRuns:
    experiment: str
    field: str
    record: SweepRecord
    jobs: list[Job]
    results: pd.DataFrame   # one row per (setting, seed): report.sweep_results
    stats: pd.DataFrame     # per setting: report.per_setting

    def table(self):
        """Per setting, each measure as mean [95% CI] over the seeds."""
        return table(report.table(self.stats),
                     f"{EXPERIMENT_TITLES[self.experiment]} at each value of {self.field}: the last epoch's measures "
                     "as mean [95% CI] over the seeds (n per row); sparsity is the mean over the SEL stages' epochs, "
                     "FLOPs are cumulative training FLOPs in units of 10^12.")

    def per_seed(self):
        """Every run of the sweep, one row each."""
        cols = [self.field, "seed", "test_100", "test_full", "sel_sparsity", "gamma0", "flops_T", "exec_flops_T",
                "time_s", "folder"]
        frame = self.results[cols].assign(folder=[portable_path(f, REPO_ROOT) for f in self.results["folder"]])
        formats = {self.field: "{:g}", "test_100": "{:.1f}", "test_full": "{:.1f}", "sel_sparsity": "{:.3f}",
                   "gamma0": "{:.3g}", "flops_T": "{:.3g}", "exec_flops_T": "{:.4g}", "time_s": "{:.0f}"}
        names = {v: k for k, v in report.SWEEP_METRICS.items()}
        frame = frame.rename(columns=names)
        return table(frame.style.format({names.get(k, k): v for k, v in formats.items()}).hide(axis="index"),
                     "Each run of the sweep: the last epoch of one seed at one setting, with the guilt threshold "
                     "gamma0 its calibration gave and the results folder it wrote.")

    def status(self):
        """The sweep's jobs as ``python -m selcore sweep --status`` lists them (logs left out)."""
        rows = status_table(self.record, self.jobs)
        return jobs_table(rows, "The sweep's jobs and their states (python -m selcore sweep --status also gives each "
                                "job's id and log files); 'not needed' marks a curriculum whose experiments "
                                "had already finished.")


def run(profile: str, data: str, results_root: str, seeds: Any, experiment: str, field: str, values: str,
        executor: str = "local", cpus: int = 0) -> SweepRuns:
    """Run the sweep ``field=values`` of ``experiment`` over ``seeds`` (jobs already finished are skipped, so the
    committed book only reads), glue ``sweep_*`` (the finding's numbers and ``sweep_fig_finding``) and return the
    runs. ``cpus``: threads per job (``launch.chapter_resources``; 0: the profile's choice)."""
    res = chapter_resources(profile, executor, cpus)
    grid = parse_grid([f"{field}={values}"])
    seed_list = parse_seeds(seeds, profile)
    data = data or default_source()
    display(banner(profile, data))
    record, jobs = run_sweep(profile, [experiment], seed_list, grid, data, results_root=results_root,
                             executor=executor, res=res, name=f"book-{profile}-{experiment}-{field}")
    require_finished(status_table(record, jobs), "sweep jobs")
    results = report.sweep_results(jobs, field)
    stats = report.per_setting(results, field)
    for key, text in report.finding(stats, field, experiment).items():
        glue_value(f"sweep_{key}", text)
    glue_value("sweep_field", field)
    glue_value("sweep_title", EXPERIMENT_TITLES[experiment])
    glue_figure("sweep_fig_finding", report.figure(results, stats, field, experiment, EXPERIMENT_TITLES[experiment]))
    return SweepRuns(experiment, field, record, jobs, results, stats)
