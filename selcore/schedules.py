"""Which images and which threshold each phase of a plan uses: pure index arithmetic on the training labels and the
scorer's per-class order (no network, no side effect), read by the experiment registry's plans.

SEL's stage windows, its per-stage guilt threshold, the warmup set, random windows of the same sizes (the data-budget
control), a dense run's image budget, and Split CIFAR-10's tasks and replay memory.
"""
from __future__ import annotations

from typing import Sequence

import torch


def everything(y: torch.Tensor) -> torch.Tensor:
    """Every training index, 0 .. len(y) - 1, on ``y``'s device."""
    return torch.arange(len(y), device=y.device)


def per_class_indices(y: torch.Tensor, num_classes: int) -> list[torch.Tensor]:
    """Per class c, the indices of class c in dataset order (an order for plans that need no scorer)."""
    return [torch.nonzero(y == c).flatten() for c in range(num_classes)]


def stage_gamma(gamma0: float, stage: int, num_stages: int = 5, decay: float = 0.3) -> float:
    """Guilt threshold of stage ``stage`` (0-based): gamma_s = gamma0 * (1 - decay * s / S)."""
    return gamma0 * (1 - decay * stage / num_stages)


def sort_by_difficulty(scores: torch.Tensor, y: torch.Tensor, num_classes: int = 10) -> list[torch.Tensor]:
    """Per class c, the indices of class c ordered easy -> hard (ascending score, ties by index)."""
    order = []
    for c in range(num_classes):
        idx = torch.nonzero(y == c).flatten()
        order.append(idx[torch.sort(scores[idx], stable=True).indices])
    return order


def stage_indices(class_order: Sequence[torch.Tensor], start: float, end: float, cap: int = 2000) -> torch.Tensor:
    """Training indices of one stage window: per class (n images, sorted easy -> hard) the slice
    [int(start * n), min(int(end * n), int(start * n) + cap)), concatenated class by class."""
    parts = []
    for idx in class_order:
        n = len(idx)
        lo = int(start * n)
        parts.append(idx[lo:min(int(end * n), lo + cap)])
    return torch.cat(parts)


def easiest_indices(class_order: Sequence[torch.Tensor], per_class: int) -> torch.Tensor:
    """The ``per_class`` easiest training indices of each class (Warmup+SEL's warmup set)."""
    return torch.cat([idx[:per_class] for idx in class_order])


def task_classes(num_classes: int = 10, per_task: int = 2) -> list[tuple[int, ...]]:
    """The split: task t holds classes (per_task * t, ..., per_task * t + per_task - 1)."""
    if num_classes % per_task:
        raise ValueError(f"{num_classes} classes do not split into tasks of {per_task}")
    return [tuple(range(s, s + per_task)) for s in range(0, num_classes, per_task)]


def task_indices(y: torch.Tensor, classes: Sequence[int]) -> torch.Tensor:
    """Indices of the images whose label is one of ``classes`` (dataset order)."""
    return torch.nonzero(torch.isin(y, torch.tensor(list(classes), device=y.device))).flatten()


def replay_memory(y: torch.Tensor, tasks: Sequence[Sequence[int]], per_class: int, seed: int) -> torch.Tensor:
    """The episodic memory after ``tasks`` are finished: ``per_class`` images of each of their classes, drawn at
    random once per class from a generator seeded by ``seed`` and the class (so the memory of a resumed run is the
    same)."""
    parts = []
    for classes in tasks:
        for c in classes:
            idx = torch.nonzero(y == c).flatten()
            g = torch.Generator().manual_seed(seed * 1000 + 7 + c)
            parts.append(idx[torch.randperm(len(idx), generator=g)[:per_class].to(idx.device)])
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long, device=y.device)


def random_windows(class_order: Sequence[torch.Tensor], windows: Sequence[tuple[float, float]], cap: int,
                   seed: int) -> list[torch.Tensor]:
    """Per stage window, random images of each class in the numbers SEL's window takes (``stage_indices``), drawn
    afresh per stage from a generator seeded by ``seed + 104729``."""
    g = torch.Generator().manual_seed(seed + 104729)
    out = []
    for a, b in windows:
        sizes = [len(stage_indices([o], a, b, cap)) for o in class_order]
        out.append(torch.cat([o[torch.randperm(len(o), generator=g)[:k].to(o.device)]
                              for o, k in zip(class_order, sizes)]))
    return out


def budget_split(everything: torch.Tensor, budget: int, seed: int) -> tuple[int, torch.Tensor | None]:
    """A dense run stopped after ``budget`` images: (full epochs over ``everything``, the last partial epoch's
    random subset of the remainder or None), the subset drawn from a generator seeded by ``seed + 104729``."""
    full, rest = divmod(budget, len(everything))
    if not rest:
        return full, None
    g = torch.Generator().manual_seed(seed + 104729)
    return full, everything[torch.randperm(len(everything), generator=g)[:rest].to(everything.device)]
