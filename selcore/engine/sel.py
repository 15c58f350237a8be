"""The SEL engine: each formula of Staged Embarrassment Learning in one named function.

Nothing here synchronises with the host: results stay device tensors until an epoch ends.
"""
from __future__ import annotations


import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def class_embarrassment(logits: torch.Tensor, y: torch.Tensor, num_classes: int = 10,
                        temperature: float = 1.5) -> torch.Tensor:
    """Per-class embarrassment of one batch.

    E_c = (1/|N_c|) * sum_{i in N_c} CE(logits_i / T, y_i), N_c = the batch's samples of class c.
    A class absent from the batch reports E_c = 0 (as the original). Returns a (num_classes,) tensor.
    """
    ce = F.cross_entropy(logits.detach().float() / temperature, y, reduction="none")
    onehot = F.one_hot(y, num_classes).to(ce.dtype)  # a matmul, not a scatter: deterministic on GPUs
    total, count = ce @ onehot, onehot.sum(0)
    return torch.where(count > 0, total / count.clamp_min(1), torch.zeros_like(total))


def class_confidence(embarrassment: torch.Tensor, present: torch.Tensor | None = None) -> torch.Tensor:
    """Per-class confidence C_c = max(0, 1 - E_c); classes absent from the batch (``present`` False) report 0."""
    c = (1 - embarrassment).clamp_min(0)
    return c if present is None else torch.where(present, c, torch.zeros_like(c))


def guilt_percentile(values: torch.Tensor, percentile: float) -> float:
    """gamma = the ``percentile``-th percentile of ``values`` (linear interpolation, numpy's definition)."""
    return float(np.percentile(values.detach().float().cpu().numpy(), percentile))


def calibrate_gamma(net: nn.Module, x: torch.Tensor, y: torch.Tensor, percentile: float = 40.0,
                    mode: str = "eval") -> float:
    """Guilt threshold gamma0: one forward/backward of ``net`` on the calibration batch (x, y) with the
    cross-entropy loss; gamma0 = the ``percentile``-th percentile of |grad| over all parameter entries.

    ``mode='eval'`` (the original code, whose scorer is left in evaluation mode after scoring): BatchNorm
    normalises with its running statistics and does not update them; ``mode='train'``: with the batch's own
    statistics (the running statistics are updated by this pass and restored afterwards). The model's weights
    and buffers are left unchanged (its gradients are cleared again) and its mode is restored."""
    if mode not in ("eval", "train"):
        raise ValueError(f"calibration mode must be 'eval' or 'train', not {mode!r}")
    was_training = net.training
    buffers = {k: b.clone() for k, b in net.named_buffers()}
    net.train(mode == "train")
    net.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    grads = torch.cat([p.grad.detach().abs().flatten() for p in net.parameters() if p.grad is not None])
    net.zero_grad(set_to_none=True)
    with torch.no_grad():
        for k, b in net.named_buffers():
            b.copy_(buffers[k])
    net.train(was_training)
    return guilt_percentile(grads, percentile)


def density_gamma(sample: torch.Tensor, density: float) -> torch.Tensor:
    """The adaptive guilt threshold of one step: gamma = the (1 - density) quantile of |g| over a sample of the
    step's gradient entries (``sample``: their values), so that the mask |g| > gamma keeps about a fraction
    ``density`` of all entries. A 0-dim device tensor (no host sync)."""
    return torch.quantile(sample.abs().float(), 1.0 - density)


class GradientSample:
    """A fixed random sample of gradient entries (the same positions every step), drawn once per run from
    ``seed``: each parameter tensor contributes in proportion to its size, ``size`` entries in all."""

    def __init__(self, net: nn.Module, size: int = 65536, seed: int = 0):
        params = [p for p in net.parameters()]
        total = sum(p.numel() for p in params)
        g = torch.Generator().manual_seed(seed + 7919)
        self.positions = []
        for p in params:
            k = min(p.numel(), max(1, round(size * p.numel() / total)))
            self.positions.append(torch.randperm(p.numel(), generator=g)[:k].to(p.device))

    def values(self, net: nn.Module) -> torch.Tensor:
        """The sampled entries of the current gradients (parameters without a gradient contribute none)."""
        return torch.cat([p.grad.reshape(-1)[pos] for p, pos in zip(net.parameters(), self.positions)
                          if p.grad is not None])


def embarrassment_weights(logits: torch.Tensor, y: torch.Tensor, num_classes: int = 10,
                          temperature: float = 1.5) -> torch.Tensor:
    """Per-image loss weights of the class-weighted variant: w_i = E_{y_i}, the batch's embarrassment of the
    image's class (``class_embarrassment``, detached), so that the batch loss is
    L = sum_i E_{y_i} CE(z_i, y_i) / sum_i E_{y_i}: the classes the network is most embarrassed by weigh most,
    confident classes least, before the guilt-threshold mask acts on the gradient."""
    E = class_embarrassment(logits, y, num_classes, temperature)
    return E[y].clamp_min(1e-8)


def sparse_update(net: nn.Module, gamma: float | torch.Tensor) -> torch.Tensor:
    """Guilt-threshold mask: every gradient entry with |g| <= gamma is set to 0 (mask = |g| > gamma).

    Computed with ``torch._foreach_*`` over all gradient tensors at once (no per-tensor Python loop):
    mask = max(0, sign(|g| - gamma)), which is 1 exactly where |g| > gamma. Returns the fraction of gradient
    entries zeroed (a 0-dim device tensor, no host sync)."""
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    keep = torch._foreach_abs(grads)
    torch._foreach_sub_(keep, gamma)
    torch._foreach_sign_(keep)
    torch._foreach_clamp_min_(keep, 0.0)
    torch._foreach_mul_(grads, keep)
    total = sum(g.numel() for g in grads)
    kept = torch.stack(torch._foreach_norm(keep, 1)).sum()
    return (total - kept) / total



def sel_lr(base_lr: float, loss: torch.Tensor, scale: float = 2.0) -> torch.Tensor:
    """SEL's per-step learning rate: lr = base_lr * (1 + scale * loss) (scale = 2 in the original)."""
    return base_lr * (1 + scale * loss.detach())


@torch.no_grad()
def difficulty_scores(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Per-sample difficulty = the scorer's cross-entropy loss CE(net(x_i), y_i), in eval mode."""
    was_training = net.training
    net.eval()
    out = torch.cat([F.cross_entropy(net(x[i:i + batch_size]), y[i:i + batch_size], reduction="none")
                     for i in range(0, len(y), batch_size)])
    net.train(was_training)
    return out


