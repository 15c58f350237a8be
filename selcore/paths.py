"""Every artifact path of a results folder, from one place.

A results folder holds the four experiments side by side, in the original release's layout
(``hist_<name>.csv``), with one ``run_<name>.json`` and one checkpoint per experiment.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


@dataclass(frozen=True)
class RunPaths:
    root: Path
    experiment: str

    @property
    def csv(self) -> Path:
        return csv_path(self.root, self.experiment)

    @property
    def run_json(self) -> Path:
        return run_json_path(self.root, self.experiment)

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoints" / f"{self.experiment}.pt"

    def curriculum(self, key: str) -> Path:
        """The scorer's easy-to-hard order and gamma0 (shared by sel95 and warmup)."""
        return self.root / "checkpoints" / f"curriculum-{key}.pt"


SEED_PREFIX = "seed"
"""A seed's results folder is ``seed<k>`` (the one place the name is made and read)."""


def seed_folder_name(seed: int) -> str:
    """The name of seed ``seed``'s results folder: ``seed<seed>``."""
    return f"{SEED_PREFIX}{seed}"


def seed_of(name: str | Path) -> int | None:
    """k of a ``seed<k>`` folder name (a path: its last part), else None."""
    name = Path(name).name
    rest = name[len(SEED_PREFIX):]
    return int(rest) if name.startswith(SEED_PREFIX) and rest.isdigit() else None


RUN_JSON_GLOB = "run_*.json"
"""The pattern every ``run_<experiment>.json`` matches (to find the runs of a folder)."""


def csv_path(root: Path | str, experiment: str) -> Path:
    """The history CSV of ``experiment`` in the results folder ``root``."""
    return Path(root) / f"hist_{experiment}.csv"


def run_json_path(root: Path | str, experiment: str) -> Path:
    """The run record (configuration, provenance, prior cost) of ``experiment`` in ``root``."""
    return Path(root) / f"run_{experiment}.json"


def run_json_experiment(path: Path | str) -> str:
    """The experiment a ``run_<experiment>.json`` path belongs to."""
    return Path(path).stem.removeprefix("run_")


def portable_path(path: str, base: Path) -> str:
    """A path as the book and its logs should record it: relative to ``base`` (the repository root, or the
    working directory), so that no machine-specific absolute path is written; '' and 'torchvision' unchanged."""
    if path in ("", "torchvision") or not os.path.isabs(path):
        return path
    return os.path.relpath(path, base)


def _value_name(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(_value_name(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def setting_name(changed: Mapping[str, Any]) -> str:
    """The name of a folder holding runs whose configuration differs from their profile's in ``changed``:
    ``<field><value>`` joined by ``-`` in field order, e.g. ``percentile30`` or ``percentile30-temperature2``
    (floats as ``%g``, so ``30.0`` and ``30`` name one folder); ``""`` when nothing changed."""
    parts = [f"{k}{re.sub(r'[^A-Za-z0-9.,_-]+', '', _value_name(v))[:40]}" for k, v in sorted(changed.items())]
    return "-".join(parts)


def speed_comparison_path(profile_root: Path | str) -> Path:
    """The claims chapter's controlled timing of SEL-95's and the Baseline's steps (one session, interleaved)."""
    return Path(profile_root) / "speed_comparison.csv"


def calibration_rules_path(profile_root: Path | str, width: int, per_class: int, seed: int) -> Path:
    """The method chapter's calibration-rules table (gamma0 and one epoch's stage-1 sparsity per calibration rule),
    measured once per width, training images per class and seed: CPU kernels are not deterministic, so it is kept
    beside the runs instead of measured at every execution."""
    return Path(profile_root) / f"calibration_rules-w{width}-n{per_class}-s{seed}.csv"


def epoch_comparison_path(profile_root: Path | str) -> Path:
    """The equal-compute chapter's measurement of Selective Backprop's epoch against a dense one (one run)."""
    return Path(profile_root) / "epoch_comparison.csv"


def original_results_dir() -> Path:
    """The original release's four published CSVs (``hist_<name>.csv``): ``$SELCORE_REFERENCE`` or
    ``../shared/reference/original-results`` beside the repository (where this project's machines keep them; they
    are not committed)."""
    env = os.environ.get("SELCORE_REFERENCE")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "original-results"


def default_source() -> str:
    """The CIFAR-10 source where none is named: ``$SELCORE_DATA``, else ``torchvision`` (its download)."""
    return os.environ.get("SELCORE_DATA", "torchvision")


def sparsity_study_dir(profile_root: Path | str) -> Path:
    """The sparsity study's points table and stand-in records (``studies.sparsity_study``) of a profile's results folder
    (the planned grid lives in results/quick: it is defined on the quick profile's images)."""
    return Path(profile_root) / "sparsity"


def seed_plan_path(profile_root: Path | str) -> Path:
    """The seeds planned by power analysis for the rows a profile's runs feed (the claims chapter), written once,
    before the extra seeds run."""
    return Path(profile_root) / "seed_plan.csv"
