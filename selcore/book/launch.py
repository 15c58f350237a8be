"""Launching a chapter's runs, the one way every chapter does: each configuration into the folder the one rule
gives it (``profiles.run_folder``), resuming an interrupted run and skipping a finished one (``run_experiment``)."""
from __future__ import annotations

import os
from pathlib import Path

from ..config import Config, ConfigError
from ..engine.data import CIFAR10
from ..engine.experiments import run_experiment
from ..profiles import PROFILE_JOB_CPUS, changed_fields, profile_config, run_folder
from ..sweep.submit import Resources


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


def chapter_resources(profile: str, executor: str, cpus: int) -> Resources:
    """What each job of a chapter's sweep asks for: ``cpus`` torch threads, as many jobs at once as the machine has
    CPUs for; ``cpus`` 0: the profile's ``PROFILE_JOB_CPUS`` (0 there: every CPU, one job at a time). A chapter
    waits for its jobs, so ``executor`` must be 'local' or 'debug' (``sweep`` submits to Slurm)."""
    if executor not in ("local", "debug"):
        raise ConfigError(f"bad parameter executor={executor!r}: a chapter runs 'local' or 'debug' jobs; submit to "
                          f"Slurm with python -m selcore sweep --executor slurm, then rerun the chapter to read them")
    cpus = cpus or PROFILE_JOB_CPUS[profile]
    return Resources(cpus=cpus) if cpus else Resources(cpus=os.cpu_count() or 1, parallelism=1)
