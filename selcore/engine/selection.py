"""Selective Backprop (Jiang et al. 2019, "Accelerating Deep Learning by Focusing on the Biggest Losers",
arXiv:1910.00762): a batch stream that decides, from a cheap no-grad forward pass, which images are worth a
backward pass.

A *selector* turns an epoch's shuffled indices into the batches that are trained: ``PlainBatches`` (every image,
the Baseline), ``SelectiveBackprop`` (each image kept with probability P = percentile^beta, kept images queued until
a full batch is formed; variable selection, one host read per forward batch) and ``TopFraction`` (the highest-loss
fraction of each batch; static shapes, no host read). Every selector counts the images it ran a selection
forward pass on (``forward_samples``): the loop charges those passes to the executed FLOPs.

The selection pass runs in training mode (batch statistics, as the training pass that follows sees them) without
gradients and without moving BatchNorm's running statistics (momentum 0 for its duration), on the same augmented
images that are then trained.
"""
from __future__ import annotations

import contextlib
import math
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .data import DeviceData


def selection_probability(losses: torch.Tensor, history: torch.Tensor, beta: float = 3.0) -> torch.Tensor:
    """Selective Backprop's keep probability of each image: P_i = (fraction of ``history`` below loss_i)^beta.

    ``history`` holds the most recent losses (the last 1,024 in the paper; beta = 3 there). With an empty
    history every image is kept (P = 1)."""
    if history.numel() == 0:
        return torch.ones_like(losses)
    below = (history.unsqueeze(0) < losses.unsqueeze(1)).float().mean(1)
    return below.pow(beta)


def top_fraction(losses: torch.Tensor, fraction: float) -> torch.Tensor:
    """Indices of the ceil(fraction * n) highest losses of a batch of n (a fixed count: static shapes)."""
    k = max(1, math.ceil(fraction * len(losses)))
    return torch.topk(losses, k, sorted=False).indices


@contextlib.contextmanager
def frozen_batchnorm_stats(net: nn.Module):
    """Training-mode forward passes inside leave BatchNorm's running statistics unchanged (momentum 0)."""
    bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None)
             for m in bns]
    for m in bns:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (mom, nbt) in zip(bns, saved):
            m.momentum = mom
            if nbt is not None:
                m.num_batches_tracked.copy_(nbt)


@torch.no_grad()
def selection_losses(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image cross-entropy of a no-grad training-mode forward pass (running statistics untouched)."""
    with frozen_batchnorm_stats(net):
        return F.cross_entropy(net(X), y, reduction="none")


class PlainBatches:
    """Every image of the epoch, in batches of ``batch_size`` (the last one smaller): no selection pass."""

    def __init__(self):
        self.forward_samples = 0

    def batches(self, net: nn.Module, data: DeviceData, perm: torch.Tensor, batch_size: int,
                gen: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self.forward_samples = 0
        for start in range(0, len(perm), batch_size):
            idx = perm[start:start + batch_size]
            yield data.augment(idx, gen), data.train_y[idx]

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


class SelectiveBackprop(PlainBatches):
    """Selective Backprop with the paper's probabilistic rule: per forward batch, P_i from the last ``history``
    losses (``selection_probability``), a Bernoulli draw from the run's generator, the kept images queued; every
    time ``batch_size`` are queued they are trained. What is left in the queue when the epoch ends is trained as a
    last, smaller batch. The loss history carries over between epochs (and through a checkpoint)."""

    def __init__(self, beta: float = 3.0, history: int = 1024):
        super().__init__()
        self.beta, self.size = beta, history
        self.history = torch.empty(0)

    def _remember(self, losses: torch.Tensor) -> None:
        h = torch.cat([self.history.to(losses.device), losses])
        self.history = h[-self.size:]

    def batches(self, net, data, perm, batch_size, gen):
        self.forward_samples = 0
        qx, qy, queued = [], [], 0
        for start in range(0, len(perm), batch_size):
            idx = perm[start:start + batch_size]
            X, y = data.augment(idx, gen), data.train_y[idx]
            losses = selection_losses(net, X, y)
            self.forward_samples += len(idx)
            p = selection_probability(losses, self.history.to(losses.device), self.beta)
            keep = torch.rand(len(idx), device=losses.device, generator=gen) < p
            self._remember(losses)
            n_keep = int(keep.sum())  # the queue's length decides when to train: one host read per forward batch
            if n_keep:
                qx.append(X[keep])
                qy.append(y[keep])
                queued += n_keep
            while queued >= batch_size:
                X_all, y_all = torch.cat(qx), torch.cat(qy)
                yield X_all[:batch_size], y_all[:batch_size]
                qx, qy, queued = [X_all[batch_size:]], [y_all[batch_size:]], queued - batch_size
        if queued:
            yield torch.cat(qx), torch.cat(qy)

    def state_dict(self):
        return {"history": self.history.cpu()}

    def load_state_dict(self, state):
        self.history = state["history"]


class TopFraction(PlainBatches):
    """The fixed-fraction variant: per forward batch, train on its ``fraction`` highest-loss images (a batch of
    fixed size, so that a compiled or graphed step can run it)."""

    def __init__(self, fraction: float = 0.5):
        super().__init__()
        self.fraction = fraction

    def batches(self, net, data, perm, batch_size, gen):
        self.forward_samples = 0
        for start in range(0, len(perm), batch_size):
            idx = perm[start:start + batch_size]
            X, y = data.augment(idx, gen), data.train_y[idx]
            keep = top_fraction(selection_losses(net, X, y), self.fraction)
            self.forward_samples += len(idx)
            yield X[keep], y[keep]
