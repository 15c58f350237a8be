"""Which committed runs cannot be traced to one clean commit of the code.

Every ``run_<experiment>.json`` records the commit its code ran at (``environment.git_commit``, written by
``selcore.engine.results.git_commit``; ``-dirty`` when tracked code differed from it). A run is listed here when
it recorded a dirty tree, or when the seeds of its experiment (same experiment, same setting folder, e.g.
``budget0.25``) ran at more than one commit. Their numbers are what was measured; their code state is not
exactly reproducible from a commit.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..paths import RUN_JSON_GLOB, run_json_experiment, seed_of

COLUMNS = ["folder", "experiment", "seed", "commit", "reason"]
"""Columns of :func:`unclean_runs`."""

DIRTY = "dirty tree"
"""The reason of a run whose recorded commit ends in ``-dirty``."""


def is_seed_folder(name: str) -> bool:
    """A ``seed<k>`` folder name."""
    return seed_of(name) is not None


def setting_of(folder: str) -> str:
    """The setting a run folder (relative to the results root) belongs to: its path without the ``seed<k>``
    parts (``budget0.25/seed42`` -> ``budget0.25``, ``seed42`` -> ``.``)."""
    return "/".join(p for p in Path(folder).parts if not is_seed_folder(p)) or "."


def base_commit(commit: str) -> str:
    """A recorded commit without its ``-dirty`` mark (two seeds at one commit, one of them dirty, ran at one
    commit)."""
    return commit.removesuffix("-dirty")


def recorded_commits(root: str | Path) -> pd.DataFrame:
    """One row per ``run_*.json`` under ``root`` (recursively, checkpoint folders skipped): folder (relative to
    ``root``), setting, experiment, seed (the run.json's, else the folder's) and the recorded commit (``""`` when
    none, or the run.json cannot be read)."""
    root = Path(root)
    rows = []
    for p in sorted(root.rglob(RUN_JSON_GLOB)) if root.is_dir() else []:
        rel = p.parent.relative_to(root)
        if "checkpoints" in rel.parts:
            continue
        try:
            info = json.loads(p.read_text())
        except (OSError, ValueError):
            info = {}
        seed = info.get("seed")
        if seed is None:
            seed = seed_of(p.parent)
        folder = rel.as_posix()
        rows.append({"folder": folder, "setting": setting_of(folder),
                     "experiment": info.get("experiment") or run_json_experiment(p), "seed": seed,
                     "commit": str((info.get("environment") or {}).get("git_commit") or "")})
    return pd.DataFrame(rows, columns=["folder", "setting", "experiment", "seed", "commit"])


def unclean_runs(root: str | Path) -> pd.DataFrame:
    """The runs under ``root`` (a profile's results, e.g. ``results/quick``) that do not come from one clean
    commit: those that recorded a dirty tree (reason ``dirty tree``), and every seed of an experiment whose seeds
    ran at more than one commit (``-dirty`` aside; reason ``seeds at <n> commits``; runs recording no commit are
    left out of the count). Columns :data:`COLUMNS`, sorted by setting, experiment and seed; empty when every run
    is clean."""
    runs = recorded_commits(root)
    if runs.empty:
        return pd.DataFrame(columns=COLUMNS)
    known = runs[runs["commit"].ne("") & runs["commit"].ne("unknown")]
    n_commits = known["commit"].map(base_commit).groupby([known["setting"], known["experiment"]]).nunique()
    reasons = []
    for setting, experiment, commit in zip(runs["setting"], runs["experiment"], runs["commit"]):
        why = [DIRTY] if commit.endswith("-dirty") else []
        n = int(n_commits.get((setting, experiment), 0))
        if n > 1:
            why.append(f"seeds at {n} commits")
        reasons.append("; ".join(why))
    runs["reason"] = reasons
    out = runs[runs["reason"] != ""].copy()
    out["_seed"] = pd.to_numeric(out["seed"], errors="coerce")
    out = out.sort_values(["setting", "experiment", "_seed", "folder"], kind="stable")
    return out[COLUMNS].reset_index(drop=True)


def unclean_counts(table: pd.DataFrame) -> dict[str, int]:
    """Of an :func:`unclean_runs` table: ``runs`` listed, ``dirty`` runs (a dirty tree recorded) and
    ``mixed`` experiments (setting and experiment) whose seeds ran at more than one commit."""
    dirty = table["reason"].str.contains(DIRTY, regex=False)
    mixed = table[table["reason"].str.contains("commits", regex=False)]
    return {"runs": len(table), "dirty": int(dirty.sum()),
            "mixed": len({(setting_of(f), e) for f, e in zip(mixed["folder"], mixed["experiment"])})}
