"""Is SEL's difficulty order meaningful? Compare the scorer's order with a trained model's."""
from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import torch

from . import sel
from ..config import Config, ConfigError
from ..paths import RunPaths
from ..registry import BASELINE
from .checkpoint import load
from .data import DeviceData
from .models import build_model


def trained_model(root: Path | str, cfg: Config, data: DeviceData) -> torch.nn.Module:
    """The finished Baseline's final network from the results folder ``root`` (same width and data)."""
    paths = RunPaths(Path(root), BASELINE)
    if not paths.checkpoint.exists():
        raise ConfigError(f"experiment {cfg.experiment} needs the finished baseline in {root} "
                          f"(run the baseline experiment into the same folder first)")
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
    """Spearman rank correlation, per class, between two per-sample difficulty scores
    (``scipy.stats.spearmanr``): rho_c = Pearson correlation of the ranks of a and b over the images of class
    c (ties: average rank); NaN where a class's scores are constant."""
    from scipy import stats  # 0.7 s to import: only the oracle order's agreement needs it, not every run
    a, b, y = scores_a.cpu().numpy(), scores_b.cpu().numpy(), y.cpu().numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)  # constant scores: NaN, said in the doc
        out = {name: float(stats.spearmanr(a[y == c], b[y == c]).statistic) for c, name in enumerate(classes)}
    return pd.Series(out, name="spearman")


def extremes(scores: torch.Tensor, y: torch.Tensor, classes: tuple, k: int = 3) -> dict[str, list[int]]:
    """Per class, the training indices of its ``k`` easiest then its ``k`` hardest images by ``scores``
    (higher = harder; ties keep the training order)."""
    scores, y = scores.cpu(), y.cpu()
    out = {}
    for c, name in enumerate(classes):
        members = torch.nonzero(y == c).flatten()
        ranked = members[torch.argsort(scores[members], stable=True)].tolist()
        out[name] = ranked[:k] + ranked[-k:] if ranked else []
    return out


def order_agreement(scorer: torch.Tensor, trained: torch.Tensor, y: torch.Tensor, classes: tuple,
                    k: int = 3) -> dict:
    """What the oracle-order run stores in its run.json (``prior_cost.order_agreement``), so that the book
    needs no checkpoint to show it: the per-class Spearman correlation between the scorer's and the trained
    Baseline's per-sample losses (``rank_agreement``), and each order's ``k`` easiest and hardest images per
    class (``extremes``)."""
    return {"spearman": rank_agreement(scorer, trained, y, classes).to_dict(),
            "extremes": {"scorer": extremes(scorer, y, classes, k),
                         "trained Baseline": extremes(trained, y, classes, k)}}
