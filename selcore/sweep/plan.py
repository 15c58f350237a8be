"""A sweep's jobs, as a pure function of its grid: which (experiment, seed, setting) runs, where it writes, and
what must finish before it starts.

A *setting* is the set of ``Config`` fields in which a job differs from its profile (the grid's values and any
fixed ``--set``); its runs go to ``results/<profile>/<setting>/seed<k>/`` (``profiles.run_folder``, the rule every
command follows; the setting named by ``paths.setting_name``, e.g. ``percentile30``), and a setting equal to the profile's own goes to the book's ``results/<profile>/seed<k>/``, so
that a sweep reuses, and is reused by, the book's runs. Jobs come in two waves:

* wave 0: one ``curriculum`` job per distinct cached curriculum that a staged experiment of the sweep needs
  (scoring + gamma0 calibration, once per seed and setting), and every experiment that needs nothing;
* wave 1: the experiments that read a curriculum, or the finished Baseline of their folder (``oracle_order``;
  its Baseline is added to wave 0 if the grid did not ask for it).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..config import ALL_EXPERIMENTS, Config, ConfigError, coerce, did_you_mean
from ..engine.curriculum import curriculum_path
from ..paths import seed_folder_name, setting_name
from ..profiles import PROFILE_SEEDS, PROFILES, changed_fields, check_profile, profile_config, run_folder
from ..registry import BASELINE, spec

NOT_SWEPT = ("experiment", "seed", "data", "data_cache", "device", "progress")
"""Fields a grid may not name: experiments and seeds have options of their own; the others change no result."""


@dataclass(frozen=True)
class Job:
    """One unit of work of a sweep: a curriculum to cache or an experiment to run, in one results folder."""
    kind: str                      # "curriculum" or "experiment"
    config: dict = field(compare=False)  # Config.to_dict() of the job
    root: str                      # absolute results folder of the seed (results/<profile>/<setting>/seed<k>)
    setting: str                   # paths.setting_name of the fields that differ from the profile ('' = none)
    wave: int
    profile: str = ""
    curriculum: str = ""           # the cached curriculum it computes (curriculum job) or reads (experiment)

    @property
    def cfg(self) -> Config:
        return Config.from_dict(self.config)

    @property
    def experiment(self) -> str:
        return self.config["experiment"]

    @property
    def seed(self) -> int:
        return self.config["seed"]

    @property
    def key(self) -> str:
        """A name unique in the sweep, stable across reruns, as the results tree names the folder:
        ``<profile>/[<setting>/]seed<k>/<experiment or curriculum>``."""
        what = self.experiment
        if self.kind == "curriculum":  # an experiment with calibration rules of its own has its own curriculum
            what = "curriculum" + (f"-{what}" if spec(what).calibration else "")
        return "/".join(p for p in (self.profile, self.setting, seed_folder_name(self.seed), what) if p)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "config": self.config, "root": self.root, "setting": self.setting,
                "wave": self.wave, "profile": self.profile, "curriculum": self.curriculum}

    @classmethod
    def from_dict(cls, d: dict) -> "Job":
        return cls(d["kind"], d["config"], d["root"], d["setting"], d["wave"], d.get("profile", ""),
                   d.get("curriculum", ""))


def parse_experiments(text: str | None) -> tuple[str, ...]:
    """``sel95,warmup`` (None: the four experiments); an unknown name fails naming the valid ones."""
    names = tuple(n.strip() for n in (text or "baseline,lottery,sel95,warmup").split(",") if n.strip())
    bad = [n for n in names if n not in ALL_EXPERIMENTS]
    if bad or not names:
        raise ConfigError(f"unknown experiment {bad[0] if bad else text!r}{did_you_mean(bad[:1], ALL_EXPERIMENTS)}: "
                          f"choose from {', '.join(ALL_EXPERIMENTS)}")
    return tuple(dict.fromkeys(names))


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``--grid FIELD=V1,V2,...`` (repeatable; values of a list-valued field are separated by ``;``, e.g.
    ``stage_epochs=1,1,1,1,1;2,2,2,2,2``) into typed values per field; a bad field or value fails in one line."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip()
        if not sep or not values.strip():
            raise ConfigError(f"bad --grid {item!r}: write FIELD=V1,V2,... (e.g. percentile=30,40,50)")
        if name in NOT_SWEPT:
            raise ConfigError(f"bad --grid {item!r}: {name} is not a grid field (use --experiments, --seeds, --data)")
        if name not in Config.fields():
            raise ConfigError(f"bad --grid {item!r}: no parameter {name!r} (python -m selcore params lists them)")
        list_valued = isinstance(getattr(Config(), name), tuple)
        raw = values.split(";") if (";" in values or list_valued) else values.split(",")
        grid[name] = list(dict.fromkeys(coerce(name, v.strip()) for v in raw if v.strip()))
    return grid


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values (one empty point for an empty grid)."""
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]


def parse_profiles(text: str) -> tuple[str, ...]:
    """``quick`` or ``quick,smoke``; an unknown profile fails naming the valid ones."""
    names = tuple(dict.fromkeys(p.strip() for p in str(text).split(",") if p.strip()))
    if not names:
        raise ConfigError(f"bad --profile {text!r}: name one of {', '.join(PROFILES)}")
    return tuple(check_profile(p) for p in names)


def plan_sweep(profile: str | Sequence[str], experiments: Sequence[str], seeds: Sequence[int] | None,
               grid: dict[str, list[Any]], data: str, fixed: dict[str, Any] | None = None,
               results_root: str | Path = "results") -> list[Job]:
    """The jobs of a sweep (see the module doc), in submission order: every profile (``quick`` or
    ``quick,smoke``) x its ``seeds`` (None: each profile's own) x grid point x experiment. ``fixed``: fields set for
    every job."""
    profiles = parse_profiles(profile) if isinstance(profile, str) else tuple(profile)
    jobs: dict[tuple, Job] = {}
    for prof in profiles:
        _plan_profile(jobs, prof, experiments, tuple(seeds) if seeds else PROFILE_SEEDS[prof], grid, data, fixed,
                      results_root)
    return sorted(jobs.values(), key=lambda j: j.wave)  # stable: grid order within a wave


def _plan_profile(jobs: dict, profile: str, experiments, seeds, grid, data, fixed, results_root) -> None:
    for point in grid_points(grid):
        for seed in seeds:
            wanted = list(experiments)
            if any("baseline" in spec(e).needs for e in wanted) and BASELINE not in wanted:
                wanted.insert(0, BASELINE)
            for exp in wanted:
                cfg = profile_config(profile, exp, data=data, **{**(fixed or {}), **point}).replace(
                    seed=seed, progress="log")
                changed = changed_fields(cfg, profile_config(profile, exp, data=data))
                setting = setting_name(changed)
                root = run_folder(profile, seed, changed, results_root).resolve()
                need = spec(exp).needs
                cur = str(curriculum_path(cfg, root)) if "curriculum" in need else ""
                if cur:
                    jobs.setdefault(("curriculum", cur), Job("curriculum", cfg.to_dict(), str(root), setting, 0,
                                                             profile, cur))
                jobs[("experiment", str(root), exp)] = Job("experiment", cfg.to_dict(), str(root), setting,
                                                           1 if need else 0, profile, cur)
