"""Is SEL's difficulty order meaningful? Compare the scorer's order with a trained model's."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from . import sel
from ..config import Config, ConfigError
from .data import DeviceData
from .models import build_model
from ..paths import RunPaths


def trained_model(root: Path | str, cfg: Config, data: DeviceData) -> torch.nn.Module:
    """The finished Baseline's final network from the results folder ``root`` (same width and data)."""
    paths = RunPaths(Path(root), "baseline")
    if not paths.checkpoint.exists():
        raise ConfigError(f"experiment {cfg.experiment} needs the finished baseline in {root} "
                          f"(run the baseline experiment into the same folder first)")
    from .checkpoint import load
    st = load(paths.checkpoint, map_location=data.device)
    base = st["identity"]
    for key in ("width", "train_per_class", "seed"):
        if base.get(key) != getattr(cfg, key):
            raise ConfigError(f"bad parameter {key}={getattr(cfg, key)!r}: the baseline in {root} was trained "
                              f"with {key}={base.get(key)!r}")
    net = build_model(cfg.width, False, data.num_classes).to(data.device)
    net.load_state_dict(st["net"])
    return net


def trained_model_scores(root, cfg: Config, data: DeviceData, flops=None):
    """Per-sample loss of every training image under the trained Baseline (eval mode); returns
    (scores, executed FLOPs of that pass)."""
    net = trained_model(root, cfg, data)
    n = len(data)
    scores = torch.cat([sel.difficulty_scores(net, data.train_eval_batch(torch.arange(i, min(i + 5000, n), device=data.device)),
                                              data.train_y[i:i + 5000], cfg.eval_batch_size)
                        for i in range(0, n, 5000)])
    cost = float(flops.forward_pass(n, cfg.eval_batch_size)) if flops is not None else 0.0
    return scores, cost


def rank_agreement(scores_a: torch.Tensor, scores_b: torch.Tensor, y: torch.Tensor,
                   classes: tuple) -> pd.Series:
    """Spearman rank correlation, per class, between two per-sample difficulty scores:
    rho_c = Pearson correlation of the ranks of a and b over the images of class c (ties: average rank)."""
    out = {}
    for c, name in enumerate(classes):
        m = (y == c).cpu()
        a = pd.Series(scores_a.cpu()[m].numpy())
        b = pd.Series(scores_b.cpu()[m].numpy())
        out[name] = a.rank().corr(b.rank())  # Pearson of average ranks = Spearman
    return pd.Series(out, name="spearman")
