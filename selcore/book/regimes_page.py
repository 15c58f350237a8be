"""The regimes side by side in an experiment chapter (section "At the paper's width: the main result"): the width-64
runs' headline (the chapter's finding figure and numbers, ``headline``), glued values for the text and the numbered
tables. The data are ``selcore.report.regimes``'s; nothing is trained here: the ``wide`` runs come from
``python -m selcore sweep --profile wide``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd
from IPython.display import Markdown, display

from ..paths import RunPaths, original_results_dir
from ..profiles import PROFILE_SEEDS
from ..report import plots
from ..report.regimes import REGIMES, curves, finished, regime_table, run_row, stage_table
from ..report.stats import bounds_of, format_ci, mean_ci
from ..report.summary import read_history
from .chapter import SEED_METRICS, ChapterRuns, finished_runs, glue_figure
from .finding import glue
from .opening import glue_finding
from .page import table

GLUED_COLUMNS = {"test_100": "held-out (%)", "test_full": "full test (%)",
                 "epoch1_full": "full test after epoch 1 (%)", "first_sparsity": "sparsity, first SEL epoch (%)",
                 "stage1_sparsity": "sparsity, stage 1 (%)", "sparsity": "sparsity, SEL epochs (%)"}
"""The regime measures glued for the text, by the key their glue names end in."""


def glue_original(name: str, original: Path | None = None) -> None:
    """Glue the original's published run of ``name`` as ``<name>_original_<key>`` (``GLUED_COLUMNS``, one decimal and
    the % sign; a sentence saying where they were looked for when the release's CSVs are not there)."""
    path = RunPaths(original or original_results_dir(), name).csv
    row = run_row(read_history(path)) if path.exists() else None
    for key, col in GLUED_COLUMNS.items():
        if row is None:  # the release's CSVs are not committed: $SELCORE_REFERENCE or ../shared/reference
            glue(f"{name}_original_{key}", f"not available here ({path.parent} is missing)")
        elif col in row:
            glue(f"{name}_original_{key}", f"{row[col]:.1f}%")


def glue_regime(name: str, profile: str, results_root: str | Path = "results") -> int:
    """Glue ``<name>_<profile>_n`` (finished runs) and mean [95% CI] over them of the held-out and
    full-test accuracy, epoch 1's full-test accuracy and (staged runs) the sparsity of the first SEL epoch, of stage 1
    and of all SEL epochs: ``<name>_<profile>_{test_100,test_full,epoch1_full,first_sparsity,stage1_sparsity,
    sparsity}``, written with the % sign and the n they rest on ("no finished run yet" where none); returns the
    number of finished runs. (The width-64 seed list is ``headline``'s.)"""
    runs = finished(name, profile, results_root)
    rows = pd.DataFrame([run_row(h) for h in runs.values()], index=list(runs))
    for key, col in GLUED_COLUMNS.items():
        if col not in rows:
            glue(f"{name}_{profile}_{key}", "no finished run yet" if rows.empty else "not logged")
            continue
        c = mean_ci(rows[col], bounds=bounds_of("test_100"))  # accuracies and sparsities alike: % in [0, 100]
        glue(f"{name}_{profile}_{key}", f"{format_ci(c['mean'], c['lo'], c['hi'], digits=1)}% (n={int(c['n'])})")
    glue(f"{name}_{profile}_n", len(runs))
    return len(runs)


def regime_styler(runs: dict[str, dict[int, pd.DataFrame]]):
    """``regime_table`` as the page shows it: accuracies and sparsities with one decimal, FLOPs with two, seconds and
    epochs whole; a value a run did not log (the original's executed FLOPs) as 'not logged', never 'nan'."""
    return regime_table(runs).style.format(  # one call: a second format() would reset the other columns' precision
        {"executed FLOPs (T)": "{:.2f}", "time (s)": "{:.0f}", "epochs": "{:d}"}, precision=1,
        na_rep="not logged")  # the original's CSVs log no executed FLOPs


def headline(name: str, results_root: str | Path = "results", profile: str = "wide",
             changed: dict | None = None) -> None:
    """The chapter's main result at the paper's width: ``profile``'s finished runs (``chapter.finished_runs``) glue
    ``<name>_<profile>_fig_finding``, ``_regime``, the comparison with the Baseline of the same seed
    (``<name>_<profile>_vs_baseline_*``) and the across-seed values (``<name>_<profile>_seeds_*``, ``_n_seeds``,
    ``_seed_list``), and their across-seed table is shown. Where none has finished, or the chapter reruns with
    parameters ``changed`` from its profile's (the width-64 runs have that profile's own), the numbers are glued as
    "n/a" beside ``_n_seeds`` 0, and a line says why."""
    runs = None if changed else finished_runs(name, profile, results_root)
    if runs is not None:
        runs.headline()
        display(runs.seed_table())
        return
    key = f"{name}_{profile}"
    fig = plots.accuracy_held_out({})  # no run: an empty panel
    fig.axes[0].set_title(f"{REGIMES[profile].capitalize()}: {'not comparable' if changed else 'no finished run yet'}",
                          fontsize=10)
    glue_figure(f"{key}_fig_finding", fig)
    for suffix in [f"seeds_{c}" for c in SEED_METRICS.values()] + ["vs_baseline_acc", "vs_baseline_exec",
                                                                   "vs_baseline_proxy"]:
        glue(f"{key}_{suffix}", "n/a")  # a number the text gives a unit; n = 0 beside it says why
    glue(f"{key}_seed_list", ", ".join(map(str, finished(name, profile, results_root))) or "none")
    glue(f"{key}_n_seeds", 0)
    why = (f"This rerun changes {', '.join(f'{k}={v}' for k, v in changed.items())}; the {profile} runs have their "
           "profile's own settings, so none is set beside it." if changed else
           f"No run of profile {profile} has finished under {results_root}/{profile}: "
           f"`python -m selcore sweep --profile {profile}` trains them.")
    display(Markdown(why))


def show(runs: ChapterRuns, results_root: str | Path = "results", profiles: Iterable[str] = ("quick", "wide")) -> None:
    """For the chapter's ``runs``: its opening finding (``opening.glue_finding``), the width-64 runs' ``headline``,
    then: glue each profile's regime values
    (``glue_regime``) and show the regime table, numbered and captioned, then, for a staged experiment, the sparsity of
    each stage (``stage_table``)."""
    name, profiles = runs.name, tuple(profiles)
    glue_finding(runs, results_root)
    if "wide" in profiles:
        headline(name, results_root, changed=runs.changed)
    counts = {p: glue_regime(name, p, results_root) for p in profiles}
    glue_original(name)
    runs = curves(name, results_root, profiles)
    df = regime_styler(runs)
    missing = ", ".join(f"{p}: {len(PROFILE_SEEDS[p]) - n} of {len(PROFILE_SEEDS[p])} seeds not finished"
                        for p, n in counts.items() if n < len(PROFILE_SEEDS[p]))
    display(table(df, f"{name}'s last epoch in each regime, one row per finished run (accuracies and sparsities in %, "
                      "executed training FLOPs in 10^12, time in seconds on the machine that ran it: this project's "
                      "2-core CPU, the original's GPU)" + (f"; {missing}." if missing else ".")))
    stages = stage_table(runs)
    if not stages.empty:
        display(table(stages.style.format(precision=1),
                      f"{name}'s mean gradient sparsity (%) in each SEL stage, one row per finished run of each regime "
                      "and the original's."))
