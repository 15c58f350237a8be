"""Run profiles: the paper's protocol and three reduced versions that keep its structure.

* ``paper``: the original protocol (ResNet-18 width 64, all 50,000 images, 30/15+30/50/55 epochs);
  needs a GPU in practice.
* ``quick``: the real CIFAR-10 images, 500 per class, width 16, fewer epochs, all five SEL stages;
  the whole book (3 seeds, with the ablations) in 35 to 81 minutes on a 2-core CPU (measured).
* ``wide``: the quick profile's images, epochs and test set at the paper's width (64), from scratch: the closest
  a 2-core CPU gets to the original's regime (each run's wall time is the ``time_s`` column of its CSV);
  the four experiment chapters show it beside ``quick``.
* ``smoke``: the same code paths in a few minutes (CI): 100 images per class, width 8, 1-2 epochs,
  a 2,000-image test set.

Beside the profiles, what a configuration changes of its profile (``changed_fields``): a chapter rerun with other
parameters and a sweep's setting are both named by it. This module stands beside ``config`` at the bottom of the
package: the engine, the sweeps, the reports and the book all read it, and it reads only ``config``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from .config import Config, ConfigError, did_you_mean
from .paths import default_source, seed_folder_name, setting_name

_QUICK: dict[str, Any] = dict(width=16, train_per_class=500, test_per_class=500, num_epochs=8, lth_pretrain_epochs=4,
                              stage_epochs=(2, 2, 2, 2, 2), warmup_epochs=2, warmup_per_class=100, task_epochs=3)

PROFILES: dict[str, dict[str, Any]] = {
    "paper": dict(pretrained=True),  # the original code: ImageNet weights for the scorer and every model
    "quick": dict(_QUICK, engine="eager", channels_last=False),  # as its committed runs were made: they stay finished
    # the paper's width, from scratch, in the fastest execution mode that passed bench's accuracy check and the
    # width-64 crash probe (see Config.channels_last)
    "wide": dict(_QUICK, width=64, engine="eager", channels_last=True),
    "smoke": dict(width=8, train_per_class=100, test_per_class=200, num_epochs=2, lth_pretrain_epochs=1,
                  stage_epochs=(1, 1, 1, 1, 1), warmup_epochs=1, warmup_per_class=20, task_epochs=1,
                  replay_per_class=5),
}

PROFILE_NOTES = {
    "paper": "the original protocol: ResNet-18 (width 64) from ImageNet weights, all 50,000 training images, "
             "30 / 15+30 / 50 / 5+50 epochs",
    "quick": "reduced: ResNet-18 at width 16, 500 training images per class, 8 / 4+8 / 5x2 / 2+5x2 epochs, "
             "a 5,000-image test set (the first 500 of each class; held-out = the first 100 of each class), "
             "seeds 42-44 for every experiment and 45-48 for the ledger rows a seed plan gave them",
    "wide": "the quick profile at the paper's width: ResNet-18 at width 64 from scratch, 500 training images per "
            "class, 8 / 4+8 / 5x2 / 2+5x2 epochs, the quick profile's 5,000-image test set, seeds 42-47",
    "smoke": "smoke test: ResNet-18 at width 8, 100 training images per class, 2 / 1+2 / 5x1 / 1+5x1 epochs, "
             "a 2,000-image test set, 1 seed; numbers mean nothing beyond 'the code runs'",
}


class _ByProfile(dict):
    """A table keyed by profile name; an unknown profile raises ConfigError naming the valid ones."""

    def __missing__(self, key):
        check_profile(key)
        raise KeyError(key)


PROFILE_SEEDS = _ByProfile({"paper": (42, 43, 44), "quick": (42, 43, 44), "wide": (42, 43, 44, 45, 46, 47),
                            "smoke": (42,)})
"""Seeds each profile runs every experiment and ablation with (42 = the original's single seed); the wide profile's
six are its confirmatory seeds (``report.planning.CONFIRMATORY``). Seeds a plan adds for a few width-16 rows only
are run by ``sweep --seeds`` and read by the claims chapter alone."""

PROFILE_JOB_CPUS = _ByProfile({"paper": 0, "quick": 0, "wide": 0, "smoke": 1})
"""CPUs (torch threads) per job of a chapter's sweep where the chapter's ``cpus`` parameter is 0. 0: every CPU of
the machine for one job at a time, the thread count of the book's other runs (on a CPU, results depend on it in the
last bits). The smoke profile's jobs are so small that starting a process and importing torch dominate them, so it
runs a single-thread job per CPU: on this project's 2-core machine its three sweep chapters took 163 s so, against
248 s one job at a time."""


def parse_seeds(seeds: Any, profile: str) -> list[int]:
    """Seeds as a chapter parameter or ``sweep --seeds`` give them: None or '' (the profile's seeds), an int, a list,
    ``"42,43"``, ``"[42, 43]"`` or ranges such as ``"42-46"`` or ``"42-44,50"``; repeats dropped. Anything else fails
    in one line."""
    if seeds is None or seeds == "":
        return list(PROFILE_SEEDS[profile])
    try:
        if isinstance(seeds, str):
            text = seeds.strip()
            items: list = json.loads(text) if text.startswith("[") else []
            for part in ([] if text.startswith("[") else text.split(",")):
                a, _, b = part.strip().partition("-")
                items += list(range(int(a), int(b) + 1)) if b else ([int(a)] if a else [])
        else:
            items = [seeds] if isinstance(seeds, (int, float)) else list(seeds)
        out = [int(s) for s in items]
    except (ValueError, TypeError, json.JSONDecodeError):
        out = []
    if not out:
        raise ConfigError(f"bad seeds {seeds!r}: write e.g. 42-46, 42,43,44 or [42, 43]")
    return list(dict.fromkeys(out))


BOOK_ROOT = "results"
"""The results root the book reads: the profiles' own runs and the sweeps' (committed for quick and wide)."""
RERUN_ROOT = "runs"
"""The results root of a rerun with a changed configuration from ``experiment`` or ``chapter`` (git-ignored)."""


def run_folder(profile: str, seed: int, changed: Mapping[str, Any] | None = None,
               root: str | Path = BOOK_ROOT) -> Path:
    """Where one run's results go, for every command (the CLI's ``experiment``, the chapters, the sweeps):
    ``<root>/<profile>/seed<k>`` for the profile's own configuration and ``<root>/<profile>/<setting>/seed<k>`` for
    one that differs from it in ``changed`` (``paths.setting_name``, e.g. ``percentile30``), so that the same
    configuration always lands in the same folder and a finished run is reused."""
    setting = setting_name(changed or {})
    base = results_dir(profile, root)
    return (base / setting if setting else base) / seed_folder_name(seed)


def rerun_root(changed: Mapping[str, Any] | None, root: str | Path = BOOK_ROOT) -> str:
    """The results root of an ``experiment`` or ``chapter`` run: ``root``, except that a changed configuration under
    the book's root goes to ``RERUN_ROOT``, so that a rerun with other parameters never writes among the results the
    book reads (a sweep, a study the book reads, keeps its root)."""
    return RERUN_ROOT if changed and str(root) == BOOK_ROOT else str(root)


def seed_dir(profile: str, seed: int, root: str | Path = BOOK_ROOT) -> Path:
    """The results folder of one seed under the profile's own configuration: ``run_folder`` with nothing changed,
    ``<root>/<profile>/seed<seed>`` (the original's layout inside)."""
    return run_folder(profile, seed, None, root)


def default_profile() -> str:
    """``paper`` where CUDA is available, else ``quick``."""
    import torch  # heavy, and only `run` without --profile asks: the profiles, like config, need no torch
    return "paper" if torch.cuda.is_available() else "quick"


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ConfigError(f"bad parameter profile={profile!r}{did_you_mean([str(profile)], PROFILES)}: must be one "
                          f"of {', '.join(PROFILES)}")
    return profile


def profile_config(profile: str, experiment: str, **overrides: Any) -> Config:
    """The Config of ``experiment`` under ``profile``; ``overrides`` whose value is None are ignored
    (a chapter's parameters cell uses None for 'the profile's value')."""
    values = dict(PROFILES[check_profile(profile)])
    values.update({k: v for k, v in overrides.items() if v is not None and v != ""})
    values["experiment"] = experiment
    values.setdefault("data", default_source())
    return Config().replace(**values)


def results_dir(profile: str, root: str | Path = "results") -> Path:
    """Where a profile's results live: ``<root>/<profile>`` (``root`` default: ./results)."""
    return Path(os.environ.get("SELCORE_RESULTS", root)) / check_profile(profile)


def changed_fields(cfg: Config, reference: Config) -> dict[str, Any]:
    """The fields in which ``cfg`` differs from ``reference`` (ignoring seed, data, device and progress), as
    {field: cfg's value}; ``reference`` is usually ``profile_config`` of the same profile and experiment."""
    ignore = {"seed", "data", "device", "progress"}
    a, b = cfg.to_dict(), reference.to_dict()
    return {k: a[k] for k in a if k not in ignore and a[k] != b.get(k)}
