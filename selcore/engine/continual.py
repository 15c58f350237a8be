"""Split CIFAR-10: five tasks of two classes trained in sequence, to test whether SEL's mask resists forgetting.

Tests the release's claim that by "freezing confident knowledge" SEL "naturally resists catastrophic forgetting".
One network with a single 10-way head is trained on task 1 (classes 0, 1), then task 2 (2, 3), ... with the plain
cross-entropy over all ten outputs; after every epoch it is evaluated on every task's test images in two ways:
class-incremental (the 10-way argmax; the task is not known) and task-incremental (the argmax over the task's own
two classes; the task is known). The variants differ only in what reaches the optimizer:

* ``split_dense``: the dense gradient;
* ``split_sel``: SEL's mask |g| > gamma at its calibrated threshold (gamma0 from the release's calibration, decayed
  per task as SEL decays it per stage: task t plays stage t);
* ``split_random``: a random mask of the same density: per tensor and step, each entry is kept with probability
  equal to the fraction SEL's threshold would keep there (``RandomMaskHook``);
* ``split_replay``: a standard reference, experience replay with a small episodic memory (Chaudhry et al. 2019,
  "On Tiny Episodic Memories in Continual Learning"): ``replay_per_class`` images of every finished task's classes
  are kept, and each training batch is joined by a batch of as many memory images drawn at random.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .train import Hook





class ReplayBatches:
    """Experience replay's batch stream: each batch of the current task joined by ``len(batch)`` memory images drawn
    uniformly (with replacement) from ``memory`` with the run's generator, augmented like every training image."""

    def __init__(self, memory: torch.Tensor):
        self.memory = memory
        self.forward_samples = 0

    def batches(self, net, data, perm, batch_size, gen):
        for start in range(0, len(perm), batch_size):
            idx = perm[start:start + batch_size]
            if len(self.memory):
                pick = torch.randint(0, len(self.memory), (len(idx),), device=idx.device, generator=gen)
                idx = torch.cat([idx, self.memory[pick]])
            yield data.augment(idx, gen), data.train_y[idx]

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


class RandomMaskHook(Hook):
    """SEL's mask density with random entries: per parameter tensor and step, p = the fraction of its entries with
    |g| > gamma (what SEL's threshold would keep), then every entry is kept with probability p (Bernoulli, from
    ``gen``), the rest zeroed. Logs the fraction zeroed as ``sparsity``."""

    def __init__(self, gamma: float, gen: torch.Generator):
        self.gamma, self.gen = gamma, gen

    def start_epoch(self):
        self.zeroed = torch.zeros((), device=self.gen.device)

    def after_backward(self, net: nn.Module):
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        zeroed = torch.zeros((), device=self.gen.device)
        for g in grads:
            density = (g.abs() > self.gamma).float().mean()
            keep = torch.rand(g.shape, device=g.device, generator=self.gen) < density
            g.mul_(keep)
            zeroed += (~keep).sum()
        self.zeroed += zeroed / sum(g.numel() for g in grads)

    def end_epoch(self, steps):
        return {"sparsity": float(self.zeroed) / max(steps, 1)}


def task_accuracies(logits: torch.Tensor, y: torch.Tensor, tasks: Sequence[Sequence[int]]
                    ) -> tuple[list[float], list[float]]:
    """Per task, the accuracy (%) of the test ``logits`` on its images: class-incremental (argmax over all outputs)
    and task-incremental (argmax over the task's own classes only)."""
    cil, til = [], []
    for classes in tasks:
        cols = torch.tensor(list(classes), device=y.device)
        sel = torch.isin(y, cols)
        z, t = logits[sel], y[sel]
        cil.append(100.0 * float((z.argmax(1) == t).float().mean()))
        til.append(100.0 * float((cols[z[:, cols].argmax(1)] == t).float().mean()))
    return cil, til


def average_accuracy(A: Sequence[Sequence[float]], t: int) -> float:
    """Average accuracy after task t (0-based): (1/(t+1)) sum_{j<=t} A[t][j], where A[t][j] is the accuracy on task
    j after training task t."""
    return sum(A[t][j] for j in range(t + 1)) / (t + 1)


def forgetting(A: Sequence[Sequence[float]], t: int) -> float:
    """Average forgetting after task t (Chaudhry et al. 2018): (1/t) sum_{j<t} (max_{l in [j, t-1]} A[l][j] -
    A[t][j]), the drop from each earlier task's best accuracy to its accuracy now; 0 after the first task."""
    if t == 0:
        return 0.0
    return sum(max(A[l][j] for l in range(j, t)) - A[t][j] for j in range(t)) / t

