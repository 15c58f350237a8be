"""Measurements the book keeps beside the runs, made once per profile: the claims chapter's controlled timing of
SEL-95's step against the Baseline's (``studies.bench.speed_comparison``) and the method chapter's calibration-rules
table (``calibration_rules``); ``measured_once`` serves the equal-compute chapter's epoch comparison too."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from ..studies.bench import speed_comparison
from ..paths import calibration_rules_path, speed_comparison_path
from ..profiles import profile_config, results_dir


def speed(profile: str, data: str, results_root: str, images: int = 1000, repeats: int = 5) -> pd.DataFrame:
    """The profile's speed comparison: read from ``<results>/<profile>/speed_comparison.csv``, measured first where
    it is missing (about two minutes at the quick size on this project's CPU; delete the file to measure again), in
    the execution mode of the profile's SEL-95 runs."""
    cfg = profile_config(profile, "sel95", data=data).replace(progress="none")
    return measured_once(speed_comparison_path(results_dir(profile, results_root)),
                         lambda: speed_comparison(cfg, images, repeats))


def calibration_rules(profile: str, results_root: str, width: int, per_class: int, seed: int,
                      measure: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The method chapter's calibration-rules table (``engine.curriculum.calibration_sensitivity``) for this width,
    training images per class and seed: read from beside the profile's runs, measured by ``measure`` where missing
    (it trains one epoch per rule, on CPU kernels that are not deterministic, so two measurements differ)."""
    return measured_once(calibration_rules_path(results_dir(profile, results_root), width, per_class, seed), measure)


def measured_once(path: Path, measure: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The table kept at ``path``, measured by ``measure`` first where the file is missing (a measurement the book
    commits beside the runs; delete the file to measure again)."""
    if not path.exists():
        df = measure()
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, index=False)
    return pd.read_csv(path)
