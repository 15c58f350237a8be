"""What a protocol costs, from the protocol itself (no training): the images each of the four experiments trains,
scores and calibrates on, and its executed training FLOPs, at any profile; and the equal-compute question answered
from the original's own published runs.

Counts come from the registry's plans (the same ``Plan`` a run executes) built on the labels of a class-balanced
training set, with each experiment's curriculum charges (scoring: one forward pass over the training set;
calibration: one training-mode batch of ``calib_size``). Per-image FLOPs come from ``engine.flops.ExecutedFlops`` on
the profile's network (a meta-device copy: no compute).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from ..config import EXPERIMENTS
from ..engine.flops import ExecutedFlops
from ..engine.models import build_model
from ..paths import csv_path
from ..profiles import profile_config
from ..registry import PlanInputs, spec
from ..schedules import per_class_indices
from .summary import PUBLISHED, read_history

CIFAR10_PER_CLASS = 5000
"""Training images per class in CIFAR-10 (a profile's ``train_per_class = 0`` means all of them)."""
COUNT_COLUMNS = ["trained images", "scored images", "calibration images", "executed training FLOPs (T)"]
"""The columns of ``protocol_costs``, after the experiment's name."""


def per_image_flops(width: int) -> tuple[float, float]:
    """Executed FLOPs of one image's training step (forward, loss, backward) and of one inference forward pass, in
    the CIFAR ResNet-18 of ``width`` (``ExecutedFlops``; convolutions and matrix products)."""
    counter = ExecutedFlops(build_model(width))
    return counter.train(64) / 64, counter.forward(64) / 64


def image_counts(profile: str, experiment: str) -> dict[str, int]:
    """Images ``experiment`` trains on (summed over its phases' epochs), scores and calibrates on under ``profile``,
    from its registry plan on a class-balanced training set of the profile's size (windows and warmup sets depend on
    the counts only, not on which images are easy)."""
    cfg = profile_config(profile, experiment)
    per_class, k = cfg.train_per_class or CIFAR10_PER_CLASS, 10
    y = torch.arange(k).repeat_interleave(per_class)
    entry = spec(experiment)
    order = per_class_indices(y, k)
    calib = cfg.calib_size if "calibration" in entry.charge else 0
    scored = len(y) if "scoring" in entry.charge else 0
    cost = {"scoring": {"what": "scoring", "exec_flops": 0.0, "samples": scored, "time_s": 0.0},
            "calibration": {"what": "calibration", "exec_flops": 0.0, "samples": calib, "time_s": 0.0}}
    curriculum = {"order": order, "gamma0": 1.0, "cost": cost, "rules": None} if "curriculum" in entry.needs else None
    plan = entry.plan(PlanInputs(cfg, y, k, epoch_flops=1.0, pass_flops=1.0, curriculum=curriculum))
    trained = sum(len(p.data.indices) * p.epochs for p in plan.phases)
    return {"trained images": int(trained), "scored images": scored, "calibration images": calib}


def protocol_costs(profile: str) -> pd.DataFrame:
    """Per experiment of the original four: ``image_counts`` and the executed training FLOPs they cost (training
    and calibration steps at the training cost per image, scoring at the forward cost), with each as a share of the
    Baseline's (``% of Baseline``, images trained and FLOPs)."""
    cfg = profile_config(profile, "baseline")
    train, fwd = per_image_flops(cfg.width)
    rows = {}
    for e in EXPERIMENTS:
        c = image_counts(profile, e)
        flops = (c["trained images"] + c["calibration images"]) * train + c["scored images"] * fwd
        rows[e] = {**c, "executed training FLOPs (T)": flops / 1e12}
    out = pd.DataFrame.from_dict(rows, orient="index")
    base = out.loc["baseline"]
    out["images, % of Baseline"] = 100 * out["trained images"] / base["trained images"]
    out["FLOPs, % of Baseline"] = 100 * out["executed training FLOPs (T)"] / base["executed training FLOPs (T)"]
    return out


def protocol_comparison(profiles: tuple[str, ...] = ("paper", "wide")) -> pd.DataFrame:
    """The four experiments' shares of the Baseline (images trained, executed training FLOPs) at each profile of
    ``profiles``, side by side: what scaling the protocol down changed."""
    cols = {}
    for p in profiles:
        c = protocol_costs(p)
        cols[f"{p}: images trained"] = c["trained images"]
        cols[f"{p}: images, % of Baseline"] = c["images, % of Baseline"]
        cols[f"{p}: FLOPs, % of Baseline"] = c["FLOPs, % of Baseline"]
    return pd.DataFrame(cols)


def original_equal_compute(original: Path | str, systems: tuple[str, ...] = ("sel95", "warmup")) -> pd.DataFrame:
    """The equal-compute question in the original's regime, from its published runs (one seed): the original's
    Baseline trains with Adam at a constant learning rate, so its epoch-k row is a k-epoch dense run. Per system of
    ``systems``: its final held-out accuracy (``test_100``, %), its executed training FLOPs as a share of the
    Baseline's at the paper protocol (``protocol_costs("paper")``, scoring included), its CSV's last ``time_s``; the
    fewest Baseline epochs whose held-out accuracy matches or beats it, their share of the Baseline's executed
    training FLOPs (k / its epochs) and the Baseline CSV's ``time_s`` at that epoch."""
    base = read_history(csv_path(original, "baseline"))
    costs = protocol_costs("paper")
    epochs = len(base)
    rows = {}
    for e in systems:
        last = read_history(csv_path(original, e)).iloc[-1]
        acc = float(last["test_100"])  # read_history gives %
        reach = base[base["test_100"] >= acc - 1e-9]
        k = int(reach["epoch"].iloc[0]) if len(reach) else None
        rows[e] = {"system": PUBLISHED.loc[e, "System"], "held-out %": acc,
                   "FLOPs, % of Baseline": float(costs.loc[e, "FLOPs, % of Baseline"]),
                   "time (s)": float(last["time_s"]),
                   "Baseline epochs to match": k,
                   "Baseline held-out % then": float(reach["test_100"].iloc[0]) if k else float("nan"),
                   "their FLOPs, % of Baseline": 100 * k / epochs if k else float("nan"),
                   "their time (s)": float(reach["time_s"].iloc[0]) if k else float("nan")}
    return pd.DataFrame.from_dict(rows, orient="index")
