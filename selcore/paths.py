"""Every artifact path of a results folder, from one place.

A results folder holds the four experiments side by side, in the original release's layout
(``hist_<name>.csv``), with one ``run_<name>.json`` and one checkpoint per experiment.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunPaths:
    root: Path
    experiment: str

    @property
    def csv(self) -> Path:
        return csv_path(self.root, self.experiment)

    @property
    def run_json(self) -> Path:
        return self.root / f"run_{self.experiment}.json"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoints" / f"{self.experiment}.pt"

    def curriculum(self, key: str) -> Path:
        """The scorer's easy-to-hard order and gamma0 (shared by sel95 and warmup)."""
        return self.root / "checkpoints" / f"curriculum-{key}.pt"


def csv_path(root: Path | str, experiment: str) -> Path:
    return Path(root) / f"hist_{experiment}.csv"
