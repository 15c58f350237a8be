"""What the sparsity chapter does, once: run the points of the study not yet measured (none, where the committed table
is complete), apply the plans page's rule, glue ``sp_*`` and the figure, and return the tables."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from IPython.display import display

from ..engine.data import load_cifar10
from ..engine.experiments import resolve_device
from ..engine.results import read_json
from ..studies.sparsity_study import Study, missing, points_path, run_study, study_for
from ..studies.sparsity_study import finished as finished_points
from ..studies.standin import record_path
from ..paths import RunPaths, default_source, sparsity_study_dir
from ..profiles import results_dir, seed_dir
from ..report import plots_regimes
from ..report import sparsity as report
from ..report.regimes import ORIGINAL, curves, finished, later_sparsity, run_row
from ..report.stats import PERCENT, format_ci, mean_ci, seed_values
from .chapter import glue_figure, glue_value
from .page import banner, csv_link, table

FIRST = "sparsity, first SEL epoch (%)"


@dataclass
class SparsityStudy:
    study: Study
    points: pd.DataFrame
    cells: pd.DataFrame
    root: Path
    results_root: str
    runs: pd.DataFrame

    def cell_table(self):
        return table(report.cell_table(self.cells).style.hide(axis="index"),
                     "Each cell of the grid over its seeds: the share of gradient entries SEL's mask zeroed in the one "
                     "epoch of stage 1 (mean [95% CI], logit-scale t interval), each seed's value in seed order, n, "
                     "the median calibrated gamma0, and whether the interval's lower end reaches the rule's 95%.")

    def deciding(self):
        found = report.deciding(self.cells)
        rows = [{"factor": f, "changes that move a cell into the regime": "; ".join(v) if v else "none"}
                for f, v in found.items()]
        return table(pd.DataFrame(rows).style.hide(axis="index"),
                     "Each factor of the grid and every change of that factor alone that moves a cell from not "
                     "reaching the original's regime to reaching it (the plans page's definition of 'decides').")

    def standins(self):
        rows = []
        for w in sorted({int(w) for w in self.points.loc[self.points["start"] == "stand-in", "width"]}):
            path = record_path(self.root, w)
            if path.exists():
                r = json.loads(path.read_text())
                rows.append({"width": w, "training images": r["training_images"], "epochs": r["epochs"],
                             "seed": r["seed"], "full test (%)": r["test_full"], "test images": r["test_images"],
                             "training time (min)": r["time_s"] / 60})
        if not rows:
            return "No stand-in record in this results folder."
        return table(pd.DataFrame(rows).style.hide(axis="index").format(
            {"full test (%)": "{:.1f}", "training time (min)": "{:.0f}", "training images": "{:,}",
             "test images": "{:,}"}),
            "The stand-ins, trained once by the recipe fixed before any was trained: their accuracy on the full "
            "test set before adaptation (reported, not selected on) and their training time on this machine.")

    def runs_table(self):
        if self.runs.empty:
            return "No finished SEL-95 run in this results folder."
        return table(self.runs.style.hide(axis="index").format(precision=1),
                     "Each finished SEL-95 run of each regime: the share of gradient entries zeroed (%) in its first "
                     "SEL epoch, and the mean, lowest and highest over its SEL epochs after the first.")

    def point_table(self):
        df = self.points.sort_values(["width", "start", "calibration", "seed"])
        return table(df.style.hide(axis="index").format({"gamma0": "{:.2e}", "sparsity": "{:.3f}", "time_s": "{:.0f}"}),
                     "Every point: gamma0 as calibrated, the sparsity (fraction of gradient entries zeroed, mean over "
                     "the epoch's steps) and the seconds the point took on this machine.")

    def link(self):
        return csv_link(points_path(self.root), self.results_root)


def original_first_sparsity(runs: pd.DataFrame) -> float | None:
    """The original's SEL-95 first SEL epoch's sparsity (a fraction) from ``sel95_runs``'s table, None where its CSVs
    are not here."""
    row = runs[runs["regime"] == ORIGINAL] if not runs.empty else runs
    return float(row["first SEL epoch"].iloc[0]) / 100 if len(row) else None


def cell_text(cells: pd.DataFrame, width: int, start: str, calibration: str) -> str:
    """One cell as prose: 'mean [lo, hi]%' (n and the per-seed values are in the table)."""
    c = cells[(cells.width == width) & (cells.start == start) & (cells.calibration == calibration)]
    if c.empty:
        return "not measured"
    r = c.iloc[0]
    return format_ci(100 * r["mean"], 100 * r["lo"], 100 * r["hi"]) + "%"


def verdict(cells: pd.DataFrame) -> str:
    """The rule's outcome as a sentence."""
    reach = cells[cells["reaches"]]
    if cells["lo"].isna().all():
        return (f"no cell has an interval (at most {int(cells['n'].max())} seed per cell), so the rule cannot be "
                "applied")
    if reach.empty:
        b = report.best_cell(cells)
        return (f"no cell of the grid reaches the original's regime: the highest lower end is "
                f"{100 * b['lo']:.1f}%, at width {b['width']}, {b['start']}, {b['calibration']} calibration")
    names = "; ".join(f"width {r.width}, {r.start}, {r.calibration}" for r in reach.itertuples())
    return f"{len(reach)} of {len(cells)} cells reach the original's regime ({names})"


def deciding_text(cells: pd.DataFrame) -> str:
    found = {f: v for f, v in report.deciding(cells).items() if v}
    if not found:
        return "no factor decides it in this grid"
    return "; ".join(f"{f} decides it ({len(v)} change{'s' if len(v) > 1 else ''}: {', '.join(v)})"
                     for f, v in found.items())


def sel95_runs(results_root: str) -> pd.DataFrame:
    """Each finished SEL-95 run of the quick and wide profiles and the original's: regime, seed, the first SEL
    epoch's sparsity and the mean, lowest and highest over the later SEL epochs (%)."""
    rows = []
    for label, by_seed in curves("sel95", results_root).items():
        for seed, h in by_seed.items():
            later = later_sparsity(h)
            rows.append({"regime": label, "seed": seed, "first SEL epoch": run_row(h)[FIRST],
                         "later SEL epochs, mean": later.mean(), "lowest": later.min(), "highest": later.max()})
    return pd.DataFrame(rows)


def later_text(runs: pd.DataFrame, label_start: str) -> str:
    """The later SEL epochs' mean sparsity over the runs of one regime: 'mean [lo, hi]% (n=k: per-seed values)'."""
    part = runs[runs["regime"].str.startswith(label_start)] if not runs.empty else runs
    if part.empty:
        return "no finished run"
    st = mean_ci(part["later SEL epochs, mean"], bounds=PERCENT)
    if st["n"] == 1:
        return f"{st['mean']:.1f}% (one run)"
    return (f"{format_ci(st['mean'], st['lo'], st['hi'])}% (n={st['n']}: "
            f"{seed_values(part['later SEL epochs, mean'])})")


def engine_note(points: pd.DataFrame, results_root: str) -> str:
    """The study's scratch, eval-calibrated points beside the first SEL epoch of the committed SEL-95 runs of the same
    width and seed (quick: width 16, wide: width 64), with each run's commit and memory format, as one sentence."""
    pairs = []
    for profile, width in (("quick", 16), ("wide", 64)):
        for seed, hist in finished("sel95", profile, results_root).items():
            p = points[(points.width == width) & (points.start == "scratch") & (points.calibration == "eval") &
                       (points.seed == seed)]
            if len(p):
                run = read_json(RunPaths(seed_dir(profile, seed, results_root), "sel95").run_json)
                how = (f"commit {run['environment']['git_commit'][:7]}, "
                       f"{'channels-last' if run['config'].get('channels_last') else 'contiguous'}")
                pairs.append(f"width {width}, seed {seed}: {100 * float(p['sparsity'].iloc[0]):.2f}% here, "
                             f"{100 * float(hist['sparsity'].iloc[0]):.2f}% in the run ({how})")
    return "; ".join(pairs) if pairs else "no committed SEL-95 run shares a point's width and seed"


def run(profile: str, data: str, results_root: str) -> SparsityStudy:
    """The study of ``profile`` (``studies.sparsity_study.study_for``) in ``<results_root>/<profile>/sparsity``: the points
    not yet there are measured (the images are loaded only then), the cells read, ``sp_*`` glued."""
    study = study_for(profile)
    root = sparsity_study_dir(results_dir(profile, results_root))
    display(banner(profile, data or default_source()))
    if missing(root, study):
        run_study(load_cifar10(data or default_source()), root, study, resolve_device("auto"))
    points = finished_points(root)
    points = points[points["width"].isin(study.widths) & points["seed"].isin(study.seeds)]
    cells = report.cells(points)
    runs = sel95_runs(results_root)  # read once: the later epochs' sentences and the original's first epoch
    original = original_first_sparsity(runs)
    glue_value("sp_original", f"{100 * original:.1f}%" if original is not None else "not available here")
    glue_value("sp_points", str(len(points)))
    glue_value("sp_cells", str(len(cells)))
    glue_value("sp_n", str(int(cells["n"].min())))
    glue_value("sp_seed_list", ", ".join(map(str, study.seeds)))
    glue_value("sp_widths", ", ".join(map(str, study.widths)))
    glue_value("sp_verdict", verdict(cells))
    glue_value("sp_deciding", deciding_text(cells))
    for factor, text in report.effects(cells).items():
        glue_value(f"sp_effect_{factor}", text)
    for w in sorted({16, 32, 64, *study.widths}):  # the prose names 16, 32 and 64 at every profile
        for s in ("scratch", "stand-in"):
            for c in ("eval", "train"):
                glue_value(f"sp_w{w}_{s.replace('-', '')}_{c}", cell_text(cells, w, s, c))
    glue_value("sp_engine_note", engine_note(points, results_root))
    glue_value("sp_later_quick", later_text(runs, "width 16"))
    glue_value("sp_later_wide", later_text(runs, "width 64, from scratch"))
    glue_value("sp_later_original", later_text(runs, ORIGINAL))
    glue_figure("sp_fig", plots_regimes.sparsity_study(points, cells, original, report.RULE))
    return SparsityStudy(study, points, cells, root, results_root, runs)
