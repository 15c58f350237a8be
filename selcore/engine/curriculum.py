"""SEL's curriculum: which network scores, how the training images are scored, how gamma0 is calibrated.

The original code's rules (the ``paper`` profile's defaults; each is a named ``Config`` field):

* ``scorer='separate'``: the scorer is the first model drawn after seeding with the run's seed; every
  experiment's training model is the next draw (``same_init``: the training model is the first draw, so it
  equals the scorer).
* ``score_augmented=True``: every training image is scored, and the first ``calib_size`` images form the
  calibration batch, through the training augmentation (random crop with padding 4, horizontal flip), drawn
  from a generator seeded with the run's seed (reproducible per seed, independent of the training stream).
* ``calibration_mode='eval'``: the scorer stays in evaluation mode after scoring, so the calibration
  forward/backward normalises with BatchNorm's running statistics.

The curriculum of one seed (order, scores, gamma0 and what computing them cost) is computed once and cached
in the results folder, shared by every staged experiment of that seed.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import torch

from . import sel
from .. import schedules
from ..config import Config
from ..paths import RunPaths
from ..registry import spec
from .data import DeviceData
from .difficulty import rank_agreement
from .models import build_model
from .train import SELHook, make_optimizer, train_epoch

def curriculum_config(cfg: Config) -> Config:
    """The configuration the curriculum of ``cfg`` is computed with (its registry entry's calibration rules)."""
    return cfg.replace(**spec(cfg.experiment).calibration)


def _model(cfg: Config, num_classes: int) -> torch.nn.Module:
    return build_model(cfg.width, cfg.pretrained, num_classes, cfg.conv1_init, cfg.weights_file)


def training_model(cfg: Config, num_classes: int) -> torch.nn.Module:
    """A run's training model: the stream seeded with ``cfg.seed``, second draw under ``scorer='separate'``
    (the first is the scorer), first draw under ``'same_init'``. Leaves the global RNG after the draw."""
    torch.manual_seed(cfg.seed)
    if cfg.scorer == "separate":
        _model(cfg, num_classes)
    return _model(cfg, num_classes)


def scorer_model(cfg: Config, num_classes: int) -> torch.nn.Module:
    """The scorer: the first model drawn after seeding with ``cfg.seed``; the global RNG state is restored."""
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(cfg.seed)
        return _model(cfg, num_classes)
    finally:
        torch.random.set_rng_state(state)


def scoring_images(cfg: Config, data: DeviceData, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """The images the scorer sees at ``idx``: augmented with ``gen`` (``score_augmented``) or clean."""
    return data.augment(idx, gen) if cfg.score_augmented else data.train_eval_batch(idx)


def compute_curriculum(cfg: Config, data: DeviceData, flops=None, chunk: int = 5000) -> dict:
    """Score every training image with the scorer, sort each class easy -> hard and calibrate gamma0, under
    ``cfg``'s rules (see the module doc). Returns ``order`` (per class), ``scores``, ``gamma0``, ``rules``
    and the ``cost`` of the scoring pass and the calibration batch (``flops``: an ``ExecutedFlops``)."""
    dev, n = data.device, len(data)
    t0 = time.perf_counter()
    scorer = scorer_model(cfg, data.num_classes).to(dev)
    gen = torch.Generator(device=dev)
    gen.manual_seed(cfg.seed)
    scores = torch.cat([sel.difficulty_scores(scorer, scoring_images(cfg, data, torch.arange(i, min(i + chunk, n), device=dev), gen),
                                              data.train_y[i:i + chunk], cfg.eval_batch_size)
                        for i in range(0, n, chunk)])
    order = schedules.sort_by_difficulty(scores, data.train_y, data.num_classes)
    t1 = time.perf_counter()
    calib = torch.arange(min(cfg.calib_size, n), device=dev)
    gamma0 = sel.calibrate_gamma(scorer, scoring_images(cfg, data, calib, gen), data.train_y[calib], cfg.percentile,
                                 mode=cfg.calibration_mode)
    rules = {"calibration_mode": cfg.calibration_mode, "score_augmented": cfg.score_augmented,
             "conv1_init": cfg.conv1_init}
    return {"order": [o.cpu() for o in order], "gamma0": gamma0, "scores": scores.cpu(), "rules": rules,
            "cost": {"scoring": {"time_s": t1 - t0, "samples": n,
                                 "exec_flops": float(flops.forward_pass(n, cfg.eval_batch_size)) if flops else 0.0,
                                 "what": "difficulty scoring of the training set"},
                     "calibration": {"time_s": time.perf_counter() - t1, "samples": len(calib),
                                     "exec_flops": float(flops.train(len(calib))) if flops else 0.0,
                                     "what": f"gamma calibration batch ({cfg.calibration_mode} mode, "
                                             f"{'augmented' if cfg.score_augmented else 'clean'} images)"}}}


def curriculum_path(cfg: Config, root: str | Path) -> Path:
    """Where the curriculum of ``cfg`` is cached in the results folder ``root`` (keyed by every field it
    depends on)."""
    c = curriculum_config(cfg)
    key = (f"s{c.seed}-w{c.width}-p{int(c.pretrained)}-n{c.train_per_class}-q{c.percentile:g}-c{c.calib_size}"
           f"-{c.calibration_mode}-a{int(c.score_augmented)}-i{c.conv1_init}")
    if c.pretrained and c.weights_file:  # a stand-in's or a named file's weights: another scorer
        key += f"-f{Path(c.weights_file).stem}"
    return RunPaths(Path(root), cfg.experiment).curriculum(key)


def cached_curriculum(cfg: Config, data: DeviceData, root: str | Path, flops=None) -> dict:
    """The curriculum of ``cfg`` from ``root``'s cache, computed and saved atomically if absent."""
    path = curriculum_path(cfg, root)
    if path.exists():
        return torch.load(path, weights_only=True)
    cur = compute_curriculum(curriculum_config(cfg), data, flops)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    torch.save(cur, tmp)
    os.replace(tmp, path)
    return cur


def load_curriculum(cfg: Config, root: str | Path) -> dict:
    """The cached curriculum of ``cfg`` in ``root``: per-class ``order``, per-sample ``scores``, ``gamma0``
    and the ``cost`` of computing them."""
    path = curriculum_path(cfg, root)
    if not path.exists():
        raise FileNotFoundError(f"no curriculum for these parameters in {root}: run sel95 there first")
    return torch.load(path, weights_only=True)


def first_stage_sparsity(cfg: Config, data: DeviceData, order, gamma0: float, epochs: int = 1) -> float:
    """Mean fraction of gradient entries SEL's mask zeroes over ``epochs`` epoch(s) of stage 1 (its window,
    threshold gamma0, lr scaling), training ``cfg``'s training model from its initial weights with the run's
    generator. The global RNG state is restored."""
    state = torch.random.get_rng_state()
    try:
        net = training_model(cfg, data.num_classes).to(data.device)
        opt = make_optimizer(net, cfg.lr, cfg.optimizer)
        gen = torch.Generator(device=data.device)
        gen.manual_seed(cfg.seed)
        a, b = cfg.stage_windows[0]
        window = schedules.stage_indices([o.to(data.device) for o in order], a, b, cfg.stage_cap)
        hook = SELHook(opt, cfg.lr, gamma0, data.num_classes, cfg.temperature, cfg.lr_loss_scale)
        return sum(train_epoch(net, opt, data, window, cfg.batch_size, gen, [hook]).extra["sparsity"]
                   for _ in range(epochs)) / epochs
    finally:
        torch.random.set_rng_state(state)


def calibration_sensitivity(cfg: Config, data: DeviceData) -> pd.DataFrame:
    """How far gamma0, the first stage's sparsity and the scorer's order move between the original code's
    rules and the alternatives: one row per (calibration_mode, score_augmented), with gamma0, the mask's
    sparsity over one epoch of stage 1, and the mean over classes of the within-class Spearman correlation
    of the order with the original rules' (eval mode, augmented) order."""
    rows, ref = [], None
    for mode in ("eval", "train"):
        for aug in (True, False):
            c = cfg.replace(calibration_mode=mode, score_augmented=aug)
            cur = compute_curriculum(c, data)
            ref = cur["scores"] if ref is None else ref
            rho = rank_agreement(ref, cur["scores"], data.train_y.cpu(), data.classes)
            rows.append({"calibration mode": mode, "scoring images": "augmented" if aug else "clean",
                         "original code's rule": mode == "eval" and aug, "gamma0": cur["gamma0"],
                         "stage-1 sparsity, 1 epoch": first_stage_sparsity(c, data, cur["order"], cur["gamma0"]),
                         "order agreement with the original's (Spearman)": float(rho.mean())})
    return pd.DataFrame(rows)
