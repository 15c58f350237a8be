"""One experiment in several regimes, as data: the book's width-16 runs (``quick``), the same protocol at the
paper's width from scratch (``wide``) and the original release's published run (width 64 from ImageNet weights on
all 50,000 images, one seed). Only finished runs are read; a run still training, or never started, is left out.
``selcore.book.regimes_page`` glues and shows them; ``plots_regimes.regime_curves`` draws them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from ..config import EXPERIMENTS
from ..paths import RunPaths, original_results_dir
from ..profiles import PROFILE_SEEDS, seed_dir
from .summary import read_history, run_status

REGIMES = {"quick": "width 16, from scratch", "wide": "width 64, from scratch",
           "paper": "width 64, ImageNet weights"}
"""How the book labels each profile's regime."""

def regime_label(width: int, pretrained: bool, profile: str) -> str:
    """How a chapter names the regime of its own runs: ``width 16 from scratch, profile quick``."""
    return f"width {width} {'from ImageNet weights' if pretrained else 'from scratch'}, profile {profile}"


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


def later_sparsity(hist: pd.DataFrame) -> pd.Series:
    """Gradient sparsity (%) of each SEL epoch after the first (the epochs where the network has trained), by
    epoch (empty without stages)."""
    if "stage" not in hist:
        return pd.Series(dtype=float)
    return 100 * hist.loc[hist["stage"] > 0, "sparsity"].iloc[1:]


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


def curves(name: str, results_root: str | Path = "results", profiles: Iterable[str] = ("quick", "wide"),
           original: Path | None = None) -> dict[str, dict[int, pd.DataFrame]]:
    """``name``'s histories by regime label and seed: each profile's finished runs, then the original's."""
    out = {f"{REGIMES[p]} ({p})": finished(name, p, results_root) for p in profiles}
    path = RunPaths(original or original_results_dir(), name).csv
    out[ORIGINAL] = {42: read_history(path)} if path.exists() else {}
    return out


def regime_table(runs: dict[str, dict[int, pd.DataFrame]]) -> pd.DataFrame:
    """One row per run of ``curves``'s histories (regime label, seed): ``run_row``."""
    rows = [{"regime": label, "seed": seed, **run_row(h)} for label, by_seed in runs.items()
            for seed, h in by_seed.items()]
    return pd.DataFrame(rows).set_index(["regime", "seed"])


def stage_table(runs: dict[str, dict[int, pd.DataFrame]]) -> pd.DataFrame:
    """Mean gradient sparsity (%) of each SEL stage, one row per run of ``curves``'s histories."""
    df = pd.DataFrame({(label, seed): stage_sparsity(h) for label, by_seed in runs.items()
                       for seed, h in by_seed.items()}).T
    if df.empty:  # no run, or none with stages
        return pd.DataFrame()
    df.index.names = ["regime", "seed"]
    return df.rename(columns=lambda s: f"stage {s}")


def final_accuracies(results_root: str | Path = "results", profiles: Iterable[str] = ("quick", "wide"),
                     experiments: Iterable[str] = EXPERIMENTS, original: Path | None = None) -> pd.DataFrame:
    """One row per finished run of each experiment in each regime (and the original's): regime, experiment, seed,
    last held-out (``test_100``) and full-test accuracy (%)."""
    rows = []
    for e in experiments:
        for label, runs in curves(e, results_root, profiles, original).items():
            rows += [{"regime": label, "experiment": e, "seed": s, "test_100": float(h["test_100"].iloc[-1]),
                      "test_full": float(h["test_full"].iloc[-1])} for s, h in runs.items()]
    return pd.DataFrame(rows)
