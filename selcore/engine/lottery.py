"""Lottery Ticket: global magnitude pruning, masks, rewind."""
from __future__ import annotations

import copy

import torch
from torch import nn


def prunable(net: nn.Module, scope: str = "all") -> dict[str, nn.Parameter]:
    """The parameters pruning acts on: every parameter tensor ('all', the original) or only the weights
    of Conv2d/Linear layers ('conv_linear')."""
    if scope == "all":
        return dict(net.named_parameters())
    if scope == "conv_linear":
        return {f"{mn}.weight": m.weight for mn, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    raise ValueError(f"prune scope must be 'all' or 'conv_linear', not {scope!r}")


def magnitude_threshold(params: dict[str, torch.Tensor], fraction: float) -> float:
    """Global magnitude threshold: the k-th smallest |w| over all given tensors, k = round(fraction * N)."""
    flat = torch.cat([p.detach().abs().flatten() for p in params.values()])
    k = max(1, min(len(flat), int(round(fraction * len(flat)))))
    return float(flat.kthvalue(k).values)


def global_magnitude_masks(net: nn.Module, fraction: float = 0.8, scope: str = "all") -> dict[str, torch.Tensor]:
    """Masks of global magnitude pruning: mask = |w| > threshold, threshold = magnitude_threshold(fraction)."""
    params = prunable(net, scope)
    thr = magnitude_threshold(params, fraction)
    return {name: (p.detach().abs() > thr).to(p.dtype) for name, p in params.items()}


def mask_sparsity(masks: dict[str, torch.Tensor]) -> float:
    """Fraction of masked-out entries: 1 - sum(mask) / numel over all masks."""
    kept = sum(float(m.sum()) for m in masks.values())
    total = sum(m.numel() for m in masks.values())
    return 1.0 - kept / max(total, 1)


def snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    """A deep copy of the whole state dict (weights and BN buffers): the rewind point."""
    return copy.deepcopy(net.state_dict())


def rewind(net: nn.Module, initial_state: dict[str, torch.Tensor], masks: dict[str, torch.Tensor],
           mask_now: bool = False) -> None:
    """Restore ``initial_state`` exactly (weights and BN buffers). ``mask_now=False`` (the original code,
    ``rewind_masking='after_step'``): the weights stay dense until the training loop re-applies the masks
    after the next optimizer step (``MaskHook``), so the first forward/backward pass after the rewind sees the
    dense initial network; ``mask_now=True`` (``'at_rewind'``): w <- w0 * m at once."""
    net.load_state_dict(initial_state)
    if mask_now:
        apply_masks(net, masks)


@torch.no_grad()
def apply_masks(net: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """w <- w * mask for every masked parameter."""
    params = dict(net.named_parameters())
    for name, m in masks.items():
        params[name].mul_(m)


@torch.no_grad()
def mask_gradients(net: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """grad <- grad * mask for every masked parameter."""
    params = dict(net.named_parameters())
    for name, m in masks.items():
        g = params[name].grad
        if g is not None:
            g.mul_(m)
