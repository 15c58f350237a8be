"""One experiment in several regimes side by side: the book's width-16 runs (``quick``), the same protocol at the
paper's width from scratch (``wide``) and the original release's published run (width 64 from ImageNet weights on
all 50,000 images, one seed). What each experiment chapter shows under "At the paper's width".

Only finished runs are read (a run still training, or never started, is left out and counted as missing); nothing
is trained here: the ``wide`` runs come from ``python -m selcore sweep --profile wide``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from ..paths import RunPaths, original_results_dir
from ..profiles import PROFILE_SEEDS, seed_dir
from ..report.stats import bounds_of, format_ci, mean_ci
from ..report.summary import read_history, run_status
from .finding import glue
from .page import table

REGIMES = {"quick": "width 16, from scratch", "wide": "width 64, from scratch",
           "paper": "width 64, ImageNet weights"}
"""How the book labels each profile's regime."""

ORIGINAL = "original release (width 64, ImageNet weights, 50,000 images, GPU, seed 42)"
"""The label of the original's published run."""


def finished(name: str, profile: str, results_root: str | Path = "results",
             seeds: Iterable[int] | None = None) -> dict[int, pd.DataFrame]:
    """The histories of ``name``'s finished runs under ``profile``, by seed (the profile's seeds by default)."""
    out = {}
    for s in seeds or PROFILE_SEEDS[profile]:
        folder = seed_dir(profile, s, results_root)
        if RunPaths(folder, name).csv.exists() and run_status(folder, name) == "finished":
            out[s] = read_history(RunPaths(folder, name).csv)
    return out


def stage_sparsity(hist: pd.DataFrame) -> pd.Series:
    """Mean gradient sparsity (%) of each SEL stage's epochs (stage > 0), by stage (empty without stages)."""
    if "stage" not in hist:
        return pd.Series(dtype=float)
    sel = hist[hist["stage"] > 0]
    return 100 * sel.groupby("stage")["sparsity"].mean()


def run_row(hist: pd.DataFrame) -> dict:
    """What the regime table shows of one run: epoch 1's and the last epoch's accuracies, the sparsity of the
    first SEL stage and over all SEL epochs, executed training FLOPs and time."""
    last, first = hist.iloc[-1], hist.iloc[0]
    stages = stage_sparsity(hist)
    row = {"epochs": int(last["epoch"]), "full test after epoch 1 (%)": float(first["test_full"]),
           "held-out (%)": float(last["test_100"]), "full test (%)": float(last["test_full"])}
    if len(stages):
        row["sparsity, first SEL epoch (%)"] = float(100 * hist.loc[hist["stage"] > 0, "sparsity"].iloc[0])
        row["sparsity, stage 1 (%)"] = float(stages.iloc[0])
        row["sparsity, SEL epochs (%)"] = float(100 * hist.loc[hist["stage"] > 0, "sparsity"].mean())
    row["executed FLOPs (T)"] = float(last["exec_flops_T"]) if "exec_flops_T" in hist else float("nan")
    row["time (s)"] = float(last["time_s"])
    return row


def regime_table(name: str, results_root: str | Path = "results", profiles: Iterable[str] = ("quick", "wide"),
                 original: Path | None = None) -> pd.DataFrame:
    """One row per finished run of ``name`` in each profile's regime, and the original's published run last."""
    rows = []
    for profile in profiles:
        for seed, hist in finished(name, profile, results_root).items():
            rows.append({"regime": f"{REGIMES[profile]} ({profile})", "seed": seed, **run_row(hist)})
    path = RunPaths(original or original_results_dir(), name).csv
    if path.exists():
        rows.append({"regime": ORIGINAL, "seed": 42, **run_row(read_history(path))})
    return pd.DataFrame(rows).set_index(["regime", "seed"])


GLUED_COLUMNS = {"test_100": "held-out (%)", "test_full": "full test (%)",
                 "epoch1_full": "full test after epoch 1 (%)", "first_sparsity": "sparsity, first SEL epoch (%)",
                 "stage1_sparsity": "sparsity, stage 1 (%)", "sparsity": "sparsity, SEL epochs (%)"}
"""The regime measures glued for the text, by the key their glue names end in."""


def glue_original(name: str, original: Path | None = None) -> None:
    """Glue the original's published run of ``name`` as ``<name>_original_<key>`` (``GLUED_COLUMNS``, one decimal)."""
    row = run_row(read_history(RunPaths(original or original_results_dir(), name).csv))
    for key, col in GLUED_COLUMNS.items():
        if col in row:
            glue(f"{name}_original_{key}", f"{row[col]:.1f}")


def glue_regime(name: str, profile: str, results_root: str | Path = "results") -> int:
    """Glue ``<name>_<profile>_n`` (finished runs), ``_seed_list``, and mean [95% CI] over them of the held-out and
    full-test accuracy, epoch 1's full-test accuracy and (staged runs) the sparsity of the first SEL epoch, of stage 1
    and of all SEL epochs: ``<name>_<profile>_{test_100,test_full,epoch1_full,first_sparsity,stage1_sparsity,
    sparsity}`` ("no finished run yet" where none); returns the number of finished runs."""
    runs = finished(name, profile, results_root)
    rows = pd.DataFrame([run_row(h) for h in runs.values()], index=list(runs))
    for key, col in GLUED_COLUMNS.items():
        if col not in rows:
            glue(f"{name}_{profile}_{key}", "no finished run yet" if rows.empty else "not logged")
            continue
        c = mean_ci(rows[col], bounds=bounds_of("test_100"))  # accuracies and sparsities alike: % in [0, 100]
        glue(f"{name}_{profile}_{key}", format_ci(c["mean"], c["lo"], c["hi"], int(c["n"]), digits=1))
    glue(f"{name}_{profile}_n", len(runs))
    glue(f"{name}_{profile}_seed_list", ", ".join(map(str, runs)) or "none")
    return len(runs)


def stage_table(name: str, results_root: str | Path = "results", profiles: Iterable[str] = ("quick", "wide"),
                original: Path | None = None) -> pd.DataFrame:
    """Mean gradient sparsity (%) of each SEL stage, one row per finished run of each regime and the original's."""
    rows = {}
    for profile in profiles:
        for seed, hist in finished(name, profile, results_root).items():
            rows[(f"{REGIMES[profile]} ({profile})", seed)] = stage_sparsity(hist)
    path = RunPaths(original or original_results_dir(), name).csv
    if path.exists():
        rows[(ORIGINAL, 42)] = stage_sparsity(read_history(path))
    df = pd.DataFrame(rows).T
    df.index.names = ["regime", "seed"]
    return df.rename(columns=lambda s: f"stage {s}")


def show_stages(name: str, results_root: str | Path = "results", profiles: Iterable[str] = ("quick", "wide")):
    """``stage_table`` numbered and captioned."""
    return table(stage_table(name, results_root, profiles), f"{name}'s mean gradient sparsity (%) in each SEL stage, "
                 "one row per finished run of each regime and the original's.")


def show(name: str, results_root: str | Path = "results", profiles: Iterable[str] = ("quick", "wide")):
    """Glue each profile's regime values (``glue_regime``) and return the regime table, numbered and captioned."""
    profiles = tuple(profiles)
    counts = {p: glue_regime(name, p, results_root) for p in profiles}
    glue_original(name)
    df = regime_table(name, results_root, profiles)
    missing = ", ".join(f"{p}: {len(PROFILE_SEEDS[p]) - n} of {len(PROFILE_SEEDS[p])} seeds not finished"
                        for p, n in counts.items() if n < len(PROFILE_SEEDS[p]))
    return table(df, f"{name}'s last epoch in each regime, one row per finished run (accuracies and sparsities in %, "
                     "executed training FLOPs in 10^12, time in seconds on the machine that ran it: this project's "
                     "2-core CPU, the original's GPU)" + (f"; {missing}." if missing else "."))
