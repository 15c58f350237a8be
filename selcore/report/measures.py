"""What a claim measures in one seed's runs: ``Seed`` reads a seed folder's histories and run records, and each
function here turns them into one number (a sparsity, a gap, bytes saved, forgetting), or None where a run it needs
has not finished."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..engine.continual import forgetting
from ..engine.results import read_json
from ..paths import RunPaths, csv_path
from .applications import accuracy_matrix
from .summary import read_history, run_status


def controlled_saving(seeds: list["Seed"], speed: pd.DataFrame) -> list[float]:
    """Wall-clock saved by SEL-95 against the Baseline, % per timing round of ``speed``
    (``studies.bench.speed_comparison``: images/s of a dense epoch, a SEL stage-1 epoch and an evaluation-mode
    forward pass, interleaved in one session): each run's recorded work times the round's per-image times,
    100 * (1 - T_sel / T_base), with T_sel = trained images / r_sel + scored images / r_eval + calibration images /
    r_dense + evaluated images / r_eval and T_base = trained images / r_dense + evaluated images / r_eval. The image
    counts are the mean over the seeds that ran both (every seed of a profile trains the same numbers)."""
    counts = []
    for s in seeds:
        if not (s.has("sel95") and s.has("baseline")):
            continue
        sel, base = s.hist("sel95"), s.hist("baseline")
        info = read_json(RunPaths(s.folder, "sel95").run_json)
        prior, cfg = info.get("prior_cost") or {}, info["config"]
        tests = 10 * cfg["test_per_class"]
        calib = min(cfg["calib_size"], int(prior.get("samples", 0)))
        counts.append({"sel_train": float(sel["samples_seen"].iloc[-1]) - prior.get("samples", 0),
                       "score": prior.get("samples", 0) - calib, "calib": calib, "sel_eval": len(sel) * tests,
                       "base_train": float(base["samples_seen"].iloc[-1]), "base_eval": len(base) * tests})
    if not counts:
        return []
    n = pd.DataFrame(counts).mean()
    rates = speed.pivot(index="round", columns="step", values="images_per_s")
    out = []
    for _, r in rates.iterrows():
        t_sel = n["sel_train"] / r["sel"] + n["score"] / r["eval"] + n["calib"] / r["dense"] + n["sel_eval"] / r["eval"]
        t_base = n["base_train"] / r["dense"] + n["base_eval"] / r["eval"]
        out.append(100 * (1 - t_sel / t_base))
    return out


# ----------------------------------------------------------------------------- per-seed measures
class Seed:
    """One seed's results folder: CSV last rows and run.json, loaded lazily."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._h: dict[str, pd.DataFrame] = {}
        self._finished: dict[str, bool] = {}

    def has(self, e: str) -> bool:
        """Whether ``e`` finished in this folder: its CSV exists and its run.json, where there is one, says
        finished (a run still training, or stopped, is not read). Read once per experiment."""
        if e not in self._finished:
            self._finished[e] = csv_path(self.folder, e).exists() and run_status(self.folder, e) in (None, "finished")
        return self._finished[e]

    def hist(self, e: str) -> pd.DataFrame:
        if e not in self._h:
            self._h[e] = read_history(csv_path(self.folder, e))
        return self._h[e]

    def last(self, e: str, col: str) -> float:
        return float(self.hist(e)[col].iloc[-1])

    def config(self, e: str) -> dict:
        """The configuration ``e`` ran with (its run.json)."""
        return read_json(RunPaths(self.folder, e).run_json)["config"]

    def started(self, e: str) -> str:
        """When ``e``'s run started (its run.json's ``started_utc``, ISO 8601), '' when unknown."""
        p = RunPaths(self.folder, e).run_json
        return str(read_json(p).get("started_utc", "")) if p.exists() else ""

    def prior_time(self, e: str) -> float:
        p = RunPaths(self.folder, e).run_json
        return float((read_json(p).get("prior_cost") or {}).get("time_s", 0.0)) if p.exists() else 0.0

    def prior_samples(self, e: str) -> float:
        p = RunPaths(self.folder, e).run_json
        return float((read_json(p).get("prior_cost") or {}).get("samples", 0)) if p.exists() else 0.0

    def saving(self, e: str, col: str) -> float:
        return 100.0 * (1.0 - self.last(e, col) / self.last("baseline", col))


def sel_epochs(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["stage"] > 0] if "stage" in df else df


def gradient_sparsity(df: pd.DataFrame) -> float:
    """Share of gradient entries the guilt mask zeroed, %: 100 x the mean ``sparsity`` over the SEL epochs."""
    return 100 * float(sel_epochs(df)["sparsity"].mean())


def gradient_kept(df: pd.DataFrame) -> float:
    """Share of gradient entries the mask kept, %: 100 x the mean of 1 - ``sparsity`` over the SEL epochs."""
    return 100 * float((1 - sel_epochs(df)["sparsity"]).mean())


def weights_moved(df: pd.DataFrame) -> float:
    """Share of weights that changed per step, %: 100 x the mean ``update_density`` over the SEL epochs."""
    return 100 * float(sel_epochs(df)["update_density"].mean())


def frozen_gap(df: pd.DataFrame) -> float:
    """Weights changed per step minus gradient entries kept, pp: 100 x the mean over the SEL epochs of
    ``update_density - (1 - sparsity)``; above 0, weights whose gradient entry was zeroed moved."""
    sel = sel_epochs(df)
    return 100 * float((sel["update_density"] - (1 - sel["sparsity"])).mean())


def estimated_bytes_saved(s: Seed, e: str = "sel95") -> float:
    """Bytes a data-parallel SEL worker would send, saved vs the dense all-reduce, %, estimated from a single-process
    SEL run's kept entries: per SEL epoch, kept share d = 1 - ``sparsity`` and a message of d's values plus their
    positions (``comm.message_bytes`` for one message holding the whole gradient, as a share of the dense 4n bytes:
    d + min(d, 1/32)); epochs weighted by the images they trained. A worker's own half-batch gradient keeps more
    entries than the whole batch's, and the all-gather pads to the largest worker's message: the estimate is a
    lower bound on what a worker would send, an upper bound on the saving."""
    df = s.hist(e)
    images = df["samples_seen"].diff().fillna(df["samples_seen"].iloc[0] - s.prior_samples(e))
    sel = df["stage"] > 0 if "stage" in df else pd.Series(True, index=df.index)
    d = 1 - df.loc[sel, "sparsity"]
    share = d + d.clip(upper=1 / 32)
    return 100 * (1 - float((share * images[sel]).sum() / images[sel].sum()))


def split_forgetting(s: Seed, e: str, kind: str = "cil") -> float:
    """A Split CIFAR-10 run's average forgetting after its last task (``continual.forgetting``)."""
    A = accuracy_matrix(s.hist(e), kind)
    return forgetting(A, len(A) - 1)


def early_gap(s: Seed, e: str) -> float:
    df = s.hist(e)
    first = df[df["stage"] == 1]
    return float((first["train_acc"] - first["test_full"]).mean())
