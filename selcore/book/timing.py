"""The claims chapter's controlled timing: SEL-95's step against the Baseline's, measured once per profile in one
session (``engine.bench.speed_comparison``) and kept in the profile's results folder."""
from __future__ import annotations

import pandas as pd

from ..engine.bench import speed_comparison
from ..paths import speed_comparison_path
from ..profiles import profile_config, results_dir


def speed(profile: str, data: str, results_root: str, images: int = 1000, repeats: int = 5) -> pd.DataFrame:
    """The profile's speed comparison: read from ``<results>/<profile>/speed_comparison.csv``, measured first where
    it is missing (about two minutes at the quick size on this project's CPU; delete the file to measure again), in
    the execution mode of the profile's SEL-95 runs."""
    path = speed_comparison_path(results_dir(profile, results_root))
    if not path.exists():
        cfg = profile_config(profile, "sel95", data=data).replace(progress="none")
        df = speed_comparison(cfg, images, repeats)
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, index=False)
    return pd.read_csv(path)
