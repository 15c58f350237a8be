"""What sets SEL's sparsity: a grid of cheap points (fixed on the book's plans page).

Each point takes the quick profile's 5,000 training images at one width, from one start, under one calibration
rule and one seed: it scores them, calibrates gamma0 and trains one epoch of stage 1 with SEL's mask
(``curriculum.compute_curriculum`` and ``curriculum.first_stage_sparsity``), nothing else. It records gamma0 and
the share of gradient entries the mask zeroed in that epoch.

* width: 16, 32, 64;
* start: ``scratch`` (the profile's fresh network) or ``stand-in`` (``studies.standin``'s weights of that width,
  adapted as the original adapts ImageNet weights);
* calibration: ``eval`` (the original code's rule: evaluation-mode BatchNorm, augmented images) or ``train``
  (this project's earlier rule: training-mode BatchNorm, clean images);
* seeds 42 to 46.

``SMOKE`` is the same code path in seconds. Points are appended to one CSV as they finish; a rerun skips those
already there, so an interrupted study resumes.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from ..config import Config
from ..profiles import profile_config
from ..engine.curriculum import compute_curriculum, first_stage_sparsity
from ..engine.data import CIFAR10, DeviceData
from ..engine.results import environment
from .standin import StandIn, train_standin

WIDTHS = (16, 32, 64)
STARTS = ("scratch", "stand-in")
CALIBRATIONS = {"eval": {"calibration_mode": "eval", "score_augmented": True},
                "train": {"calibration_mode": "train", "score_augmented": False}}
"""Each calibration rule of the grid as the Config fields it sets."""
SEEDS = (42, 43, 44, 45, 46)
KEY = ["width", "start", "calibration", "seed"]
COLUMNS = KEY + ["gamma0", "sparsity", "time_s"]


@dataclass(frozen=True)
class Study:
    """One version of the study: whose images, epochs and optimiser the points use (``profile``), its grid, and
    the stand-ins' recipe (``standin_epochs`` over the training images after each class's first
    ``standin_skip``)."""
    profile: str = "quick"
    widths: tuple[int, ...] = WIDTHS
    seeds: tuple[int, ...] = SEEDS
    standin_epochs: int = 2
    standin_skip: int = 500

    def standin(self, width: int) -> StandIn:
        return StandIn(width, epochs=self.standin_epochs, skip_per_class=self.standin_skip)

    def points(self) -> list["Point"]:
        """The points in the order they run: the cheap widths first, every seed of a cell together."""
        return [Point(self.profile, w, s, c, seed) for w in self.widths for s in STARTS for c in CALIBRATIONS
                for seed in self.seeds]


SMOKE = Study("smoke", widths=(8,), seeds=(42,), standin_epochs=1, standin_skip=4900)
"""The code path in seconds (CI's smoke book): one width, one seed, a one-epoch stand-in on 100 images per class."""


def study_for(profile: str) -> Study:
    """The study a chapter runs at ``profile``: the smoke version, else the planned grid on the quick profile's
    images (the study is the same at every other profile: it is defined on those images)."""
    return SMOKE if profile == "smoke" else Study()


@dataclass(frozen=True)
class Point:
    profile: str
    width: int
    start: str
    calibration: str
    seed: int

    def config(self, data: str = "", standin_file: str = "") -> Config:
        """The profile's SEL-95 configuration at this point (the stand-in's weights where it starts from one)."""
        cfg = profile_config(self.profile, "sel95", data=data or None).replace(
            width=self.width, seed=self.seed, **CALIBRATIONS[self.calibration])
        return cfg.replace(pretrained=True, weights_file=standin_file) if self.start == "stand-in" else cfg


def points_path(root: Path | str) -> Path:
    """The study's table, one row per finished point (committed)."""
    return Path(root) / "points.csv"


def measure(point: Point, data: DeviceData, standin_file: str = "") -> dict:
    """gamma0 and the first-stage sparsity (a fraction of gradient entries zeroed, mean over the epoch's steps) of
    one point, with the seconds it took."""
    t0 = time.perf_counter()
    gamma0, sparsity = first_epoch(point.config(standin_file=standin_file), data)
    return {"width": point.width, "start": point.start, "calibration": point.calibration, "seed": point.seed,
            "gamma0": gamma0, "sparsity": sparsity, "time_s": time.perf_counter() - t0}


def first_epoch(cfg: Config, data: DeviceData) -> tuple[float, float]:
    """gamma0 and the sparsity of the first SEL epoch of ``cfg``'s SEL-95 run on ``data``: the curriculum computed
    under ``cfg``'s rules, then one epoch of stage 1 from the run's initial weights with the run's generator (what
    the run itself trains first)."""
    cur = compute_curriculum(cfg, data)
    return float(cur["gamma0"]), float(first_stage_sparsity(cfg, data, cur["order"], cur["gamma0"]))


def finished(root: Path | str) -> pd.DataFrame:
    """The points already in ``root``'s table (an empty table with the study's columns where there is none)."""
    path = points_path(root)
    return pd.read_csv(path) if path.exists() else pd.DataFrame(columns=COLUMNS)


def missing(root: Path | str, study: Study) -> list[Point]:
    """The points of ``study`` not yet in ``root``'s table, in the order they run."""
    done = {tuple(r) for r in finished(root)[KEY].itertuples(index=False)}
    return [p for p in study.points() if (p.width, p.start, p.calibration, p.seed) not in done]


def _append(root: Path, row: dict) -> None:
    table = pd.concat([finished(root), pd.DataFrame([row])], ignore_index=True)
    path = points_path(root)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    table[COLUMNS].to_csv(tmp, index=False)
    os.replace(tmp, path)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def sessions_path(root: Path | str) -> Path:
    """The study's record of the sessions that measured its points (commit, machine, time; committed)."""
    return Path(root) / "sessions.json"


def record_session(root: Path, device: torch.device, points: int) -> None:
    """Append this session's environment (``results.environment``: code commit, versions, machine, time) and the
    number of points it set out to measure to ``sessions_path(root)``."""
    path = sessions_path(root)
    sessions = json.loads(path.read_text()) if path.exists() else []
    sessions.append({**environment(device), "points_to_measure": points})
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(sessions, indent=1) + "\n")
    os.replace(tmp, path)


def run_study(raw: CIFAR10, root: Path | str, study: Study = Study(), device: torch.device | None = None,
              log=_log) -> pd.DataFrame:
    """Every point of ``study`` not yet in ``root``'s table, appended as it finishes (each stand-in it needs is
    trained into ``root``, where absent, before the first point that starts from it); returns the whole table.
    Prints each point with an ETA of the points left (the stand-ins' training not counted: it prints its own)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    device = device or torch.device("cpu")
    todo = missing(root, study)
    if not todo:
        return finished(root)
    record_session(root, device, len(todo))
    standins: dict[int, str] = {}  # trained where first needed, so that the narrow widths' points come first
    base = profile_config(study.profile, "sel95")
    data = DeviceData(raw, device, base.train_per_class, base.held_out_per_class, base.test_per_class)
    spent: dict[int, list[float]] = {}
    for i, p in enumerate(todo, 1):
        if p.start == "stand-in" and p.width not in standins:
            standins[p.width] = str(train_standin(study.standin(p.width), raw, root, device, log))
        row = measure(p, data, standins.get(p.width, ""))
        _append(root, row)
        spent.setdefault(p.width, []).append(row["time_s"])
        # points of a width not yet measured: this one's time scaled by the width squared (the convolutions' cost)
        left = sum(sum(spent[q.width]) / len(spent[q.width]) if q.width in spent else
                   row["time_s"] * (q.width / p.width) ** 2 for q in todo[i:])
        log(f"sparsity study {i}/{len(todo)}: width {p.width}, {p.start}, {p.calibration} calibration, seed {p.seed}: "
            f"gamma0 {row['gamma0']:.2e}, sparsity {row['sparsity']:.3f} ({row['time_s']:.0f} s; "
            f"ETA {left / 60:.0f} min)")
    return finished(root)
