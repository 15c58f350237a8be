"""Launching a chapter's runs, the one way every chapter does: each configuration into the folder the one rule
gives it (``profiles.run_folder``), resuming an interrupted run and skipping a finished one (``run_experiment``)."""
from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..engine.data import CIFAR10
from ..engine.experiments import run_experiment
from ..profiles import changed_fields, profile_config, run_folder


def folder_of(cfg: Config, profile: str, root: str | Path) -> Path:
    """Where ``cfg`` runs under ``root``: ``run_folder`` of its seed and of the fields in which it differs from
    ``profile``'s configuration of the same experiment and data."""
    changed = changed_fields(cfg, profile_config(profile, cfg.experiment, data=cfg.data, seed=cfg.seed))
    return run_folder(profile, cfg.seed, changed, root)


def launch(configs: list[Config], profile: str, root: str | Path, fresh: bool = False,
           data: CIFAR10 | None = None) -> list[Path]:
    """Run each of ``configs`` in turn in its folder (``folder_of``; ``fresh``: discard an earlier result first),
    sharing the decoded images ``data`` where given; returns each run's CSV path, in order."""
    return [run_experiment(cfg, folder_of(cfg, profile, root), data=data, fresh=fresh) for cfg in configs]


def configs_for(profile: str, experiments: list[str] | tuple[str, ...], seeds: list[int], **fields) -> list[Config]:
    """``profile``'s configuration of each of ``experiments`` for each of ``seeds`` (seed by seed), with ``fields``
    set (a None value keeps the profile's)."""
    return [profile_config(profile, e, seed=s, **fields) for s in seeds for e in experiments]
