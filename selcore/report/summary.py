"""The summary table, read from the four CSVs of a results folder (ours or the original release's)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..config import EXPERIMENTS, EXPERIMENT_TITLES
from ..paths import csv_path, run_json_path
from .stats import format_number

PUBLISHED = pd.DataFrame(
    {"System": [EXPERIMENT_TITLES[e] for e in EXPERIMENTS],
     "Full test": [92.5, 93.0, 77.5, 85.3],
     "100/class": [93.2, 93.0, 77.5, 85.3],
     "FLOPs T": [33.52, 6.70, 0.08, 1.58],
     "Time s": [1398, 1460, 835, 875],
     "FLOPs saved %": [0, 80, 99, 95]},
    index=list(EXPERIMENTS))
"""The summary table exactly as the original README printed it (T4 GPU, seed 42, one run)."""

ACC_COLUMNS = ("train_acc", "test_full", "test_100")


def read_history(path: Path | str) -> pd.DataFrame:
    """One experiment's CSV; accuracies are returned in percent whether stored as % or as fractions."""
    df = pd.read_csv(path)
    missing = [c for c in ("epoch", "test_full", "test_100", "flops_T", "time_s") if c not in df.columns]
    if missing:
        raise ValueError(f"{path} is not an SEL history CSV: missing column(s) {', '.join(missing)}")
    if df.empty:
        raise ValueError(f"{path} holds no epoch rows")
    acc = [c for c in df.columns if c in ACC_COLUMNS or c.startswith("acc_")]
    if df[acc].max().max() <= 1.0:
        df[acc] = df[acc] * 100.0
    return df


class PartialResults(ValueError):
    """A results folder holds an experiment whose run.json says it has not finished."""


def run_status(folder: Path | str, experiment: str) -> str | None:
    """The status in ``run_<experiment>.json`` (None where there is none, as in the original's folders)."""
    p = run_json_path(folder, experiment)
    if not p.exists():
        return None
    return json.loads(p.read_text()).get("status", "unknown")


def load_results(folder: Path | str, partial: bool = False) -> dict[str, pd.DataFrame]:
    """The CSVs present in ``folder`` by experiment name (at least one needed).

    An experiment whose run.json says it has not finished is refused, unless ``partial``; its
    DataFrame then carries ``attrs["partial"] = True`` and the summary labels it."""
    folder = Path(folder)
    found = {}
    for e in EXPERIMENTS:
        if not csv_path(folder, e).exists():
            continue
        status = run_status(folder, e)
        if status not in (None, "finished") and not partial:
            raise PartialResults(f"{run_json_path(folder, e)} says {status!r}, not finished; finish it (rerun the "
                                 f"same command) or ask for partial results (--partial / partial=True)")
        df = read_history(csv_path(folder, e))
        df.attrs["partial"] = status not in (None, "finished")
        found[e] = df
    if not found:
        seeds = sorted(p.name for p in Path(folder).glob("seed*") if p.is_dir())
        hint = f"; it holds the seed folders {', '.join(seeds)}: name one, e.g. {Path(folder) / seeds[0]}" if seeds else ""
        raise FileNotFoundError(f"no hist_<experiment>.csv in {folder} (expected "
                                f"{', '.join(csv_path(folder, e).name for e in EXPERIMENTS)}){hint}")
    return found


def experiment_line(path: Path | str, experiment: str) -> str:
    """One line from an experiment's CSV (its last epoch): held-out and full-test accuracy, executed and proxy
    training FLOPs, wall-clock time; what ``python -m selcore experiment`` ends with."""
    last = read_history(path).iloc[-1]
    executed = (f"executed {format_number(last['exec_flops_T'], sig=3)} T training FLOPs (the original's proxy: "
                f"{format_number(last['flops_T'], sig=3)} T)" if "exec_flops_T" in last.index else
                f"proxy FLOPs {format_number(last['flops_T'], sig=3)} T")
    return (f"{EXPERIMENT_TITLES.get(experiment, experiment)}: held-out {last['test_100']:.1f}%, full test "
            f"{last['test_full']:.1f}% after epoch {int(last['epoch'])}; {executed}; {last['time_s']:.0f} s")


def run_time(folder: Path | str) -> tuple[int, float]:
    """The finished runs under ``folder`` (every ``run_<name>.json`` beside its CSV, at any depth, that says it
    finished: a run in progress is left out) and the seconds they took
    by their own clocks: the last epoch's ``time_s`` plus the cost recorded before it (``prior_cost.time_s``: the
    Lottery Ticket's pretraining, the curriculum's scoring)."""
    n, seconds = 0, 0.0
    for rec in sorted(Path(folder).rglob("run_*.json")):
        hist = rec.with_name("hist_" + rec.name[len("run_"):-len(".json")] + ".csv")
        if not hist.exists():
            continue
        info = json.loads(rec.read_text())
        if info.get("status", "finished") != "finished":
            continue
        prior = info.get("prior_cost") or {}
        seconds += float(pd.read_csv(hist, usecols=["time_s"])["time_s"].iloc[-1]) + float(prior.get("time_s") or 0)
        n += 1
    return n, seconds


def flops_saved(flops: float, baseline_flops: float) -> float:
    """FLOPs saved (%) = 100 * (1 - flops / baseline_flops), in the original's proxy units."""
    return 100.0 * (1.0 - flops / baseline_flops)


def summary_table(results: dict[str, pd.DataFrame], best: bool = False) -> pd.DataFrame:
    """One row per system from its last epoch: accuracies (%), cumulative proxy FLOPs (T), executed
    training FLOPs (T, where the CSV has them), wall-clock (s), and FLOPs saved vs the Baseline twice: in the
    original's proxy units (``FLOPs saved %``) and as operations executed (``exec FLOPs saved %``, negative = more;
    the book's measure). ``best`` adds each system's best held-out epoch and accuracy."""
    rows = []
    base = results.get("baseline")
    for e, df in results.items():
        last = df.iloc[-1]
        title = EXPERIMENT_TITLES[e] + (f" (partial: {len(df)} epochs)" if df.attrs.get("partial") else "")
        row = {"System": title, "Full test": last["test_full"], "100/class": last["test_100"],
               "FLOPs T": last["flops_T"],
               "exec FLOPs T": last["exec_flops_T"] if "exec_flops_T" in df.columns else float("nan"),
               "Time s": last["time_s"],
               "FLOPs saved %": flops_saved(last["flops_T"], base.iloc[-1]["flops_T"]) if base is not None else float("nan")}
        row["exec FLOPs saved %"] = (flops_saved(row["exec FLOPs T"], base.iloc[-1]["exec_flops_T"])
                                     if base is not None and "exec_flops_T" in base.columns else float("nan"))
        if best:
            i = df["test_100"].idxmax()
            row["best epoch"] = int(df.loc[i, "epoch"])
            row["best 100/class"] = df.loc[i, "test_100"]
        rows.append(row)
    return pd.DataFrame(rows, index=list(results))


def published_discrepancies(table: pd.DataFrame, tol: float = 0.05) -> list[str]:
    """Where the original README's printed table differs from the last rows of the CSVs in ``table``
    (accuracy columns only, rounded to the README's one decimal)."""
    notes = []
    for e in table.index.intersection(PUBLISHED.index):
        for col in ("Full test", "100/class"):
            printed, measured = PUBLISHED.loc[e, col], round(float(table.loc[e, col]), 1)
            if abs(printed - measured) > tol:
                notes.append(f"{PUBLISHED.loc[e, 'System']}: the original README prints {col} {printed:.1f}%, "
                             f"its CSV's last row gives {measured:.1f}%")
    return notes


COLUMN_FORMATS = {"Full test": {"digits": 1}, "100/class": {"digits": 1}, "FLOPs T": {"sig": 3},
                  "exec FLOPs T": {"sig": 3}, "ideal FLOPs T": {"sig": 3}, "Time s": {"digits": 0},
                  "FLOPs saved %": {"digits": 1}, "exec FLOPs saved %": {"digits": 1}, "best epoch": {"digits": 0},
                  "best 100/class": {"digits": 1}}
"""How each column of the summary and comparison tables is written (keyword arguments of
``stats.format_number`` / ``stats.format_ci``), in the command line's table and the analysis chapter alike."""

PERCENT_COLUMNS = ("Full test", "100/class", "FLOPs saved %", "exec FLOPs saved %", "best 100/class")
"""Columns the command line's table writes with a % sign."""


SAVED_NOTE = ("FLOPs saved %: the original's proxy, 2 x parameters x images x (1 - sparsity); "
              "exec FLOPs saved %: the operations the kernels executed (the book's measure)")
"""The line under the command line's summary table that says what its two savings columns count."""


def format_table(table: pd.DataFrame) -> str:
    """The summary table as plain text (``COLUMN_FORMATS``; 'n/a' where a value is missing)."""
    shown = table.copy()
    for col, fmt in COLUMN_FORMATS.items():
        if col in shown:
            suffix = "%" if col in PERCENT_COLUMNS else ""
            shown[col] = [format_number(v, **fmt) + ("" if pd.isna(v) else suffix) for v in shown[col]]
    return shown.to_string(index=False)
