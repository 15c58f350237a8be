"""One minimal training loop; features (SEL masking, lottery masks, lr scaling) plug in as hooks.

The loop never synchronises with the host inside an epoch: sums stay device tensors and are read
once when the epoch ends.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import lottery
from . import sel
from .data import DeviceData
from .selection import PlainBatches


class Divergence(FloatingPointError):
    """The loss or the weights became NaN/inf."""


class ResourceError(RuntimeError):
    """The device ran out of memory, or the disk out of space (one-line message with the way out)."""


def set_determinism(on: bool) -> None:
    """The determinism switch: deterministic algorithms (errors on ops that have none), cuDNN
    deterministic and without autotuning, a fixed cuBLAS workspace; off: cuDNN autotuning on. CPU runs are reproducible for a
    given seed and thread count either way; GPU runs are as deterministic as torch allows."""
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(on)
    torch.backends.cudnn.deterministic = on
    torch.backends.cudnn.benchmark = not on  # autotuning unless determinism is asked for


class Hook:
    """Callbacks around one optimisation step. Subclasses override what they need."""

    def start_epoch(self) -> None: ...

    def sample_weights(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        """Per-image weights of the batch's loss (loss = sum w_i CE_i / sum w_i), or None (a plain mean)."""
        return None

    def on_loss(self, logits: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> None: ...

    def after_backward(self, net: nn.Module) -> None: ...

    def after_step(self, net: nn.Module) -> None: ...

    def end_epoch(self, steps: int) -> dict:
        """Per-epoch statistics this hook contributes to the CSV row."""
        return {}


class SELHook(Hook):
    """SEL: per-class embarrassment/confidence, lr = base_lr * (1 + 2 loss), guilt-threshold mask."""

    def __init__(self, optimizer: torch.optim.Optimizer, base_lr: float, gamma: float | None, num_classes: int,
                 temperature: float = 1.5, lr_loss_scale: float = 2.0, scale_lr: bool = True,
                 target_density: float | None = None, sample: "sel.GradientSample | None" = None,
                 class_weights: bool = False, loss_reduce=None):
        """``gamma=None``: no gradient mask; ``scale_lr=False``: constant lr (the ablations switch the
        parts off one by one; E/C are logged either way). ``target_density``: the adaptive threshold instead of
        ``gamma`` (``sel.density_gamma`` over ``sample`` each step); ``class_weights``: the loss weighted by the
        classes' embarrassment (``sel.embarrassment_weights``); ``loss_reduce``: applied to the loss before it sets
        the lr (a data-parallel worker's mean over the workers, so that every worker takes the same lr)."""
        self.opt, self.base_lr, self.gamma, self.scale_lr = optimizer, base_lr, gamma, scale_lr
        self.k, self.T, self.scale = num_classes, temperature, lr_loss_scale
        self.target, self.sample, self.class_weights = target_density, sample, class_weights
        self.loss_reduce = loss_reduce
        if target_density is not None and sample is None:
            raise ValueError("an adaptive threshold needs a GradientSample")

    def start_epoch(self):
        dev = self.opt.param_groups[0]["params"][0].device
        self.E = torch.zeros(self.k, device=dev)
        self.C = torch.zeros(self.k, device=dev)
        self.zeroed = torch.zeros((), device=dev)
        self.gamma_sum = torch.zeros((), device=dev)

    def sample_weights(self, logits, y):
        return sel.embarrassment_weights(logits, y, self.k, self.T) if self.class_weights else None

    def on_loss(self, logits, y, loss):
        E = sel.class_embarrassment(logits, y, self.k, self.T)
        present = F.one_hot(y, self.k).sum(0) > 0
        self.E += E
        self.C += sel.class_confidence(E, present)
        if self.scale_lr:
            lr = sel.sel_lr(self.base_lr, loss if self.loss_reduce is None else self.loss_reduce(loss), self.scale)
            for g in self.opt.param_groups:
                g["lr"].copy_(lr)

    def after_backward(self, net):
        if self.target is not None:
            gamma = sel.density_gamma(self.sample.values(net), self.target)
            self.gamma_sum += gamma
            self.zeroed += sel.sparse_update(net, gamma)
        elif self.gamma is not None:
            self.zeroed += sel.sparse_update(net, self.gamma)

    def end_epoch(self, steps):
        for g in self.opt.param_groups:  # dense phases after this one use the base lr again
            g["lr"].fill_(self.base_lr)
        n = max(steps, 1)
        out = {"sparsity": float(self.zeroed) / n, "E": (self.E / n).tolist(), "C": (self.C / n).tolist()}
        if self.target is not None:
            out["gamma"] = float(self.gamma_sum) / n
        return out


class MaskHook(Hook):
    """Lottery Ticket: gradients masked before the step, weights re-masked after it."""

    def __init__(self, masks: dict[str, torch.Tensor]):
        self.masks = masks
        self.sparsity = lottery.mask_sparsity(masks)

    def after_backward(self, net):
        lottery.mask_gradients(net, self.masks)

    def after_step(self, net):
        lottery.apply_masks(net, self.masks)

    def end_epoch(self, steps):
        return {"sparsity": self.sparsity}


class UpdateDensityHook(Hook):
    """Update density: the fraction of parameter entries whose value actually changes in a step
    (mean over the epoch's steps). Under Adam a zeroed gradient entry still moves its weight (momentum),
    so this can be far above the gradient density 1 - sparsity; under plain SGD it cannot exceed it."""

    def __init__(self, net: nn.Module):
        self.params = [p for p in net.parameters()]
        self.total = sum(p.numel() for p in self.params)

    def start_epoch(self):
        self.changed = torch.zeros((), device=self.params[0].device, dtype=torch.long)

    def after_backward(self, net):
        self.before = [p.detach().clone() for p in self.params]

    def after_step(self, net):
        for p, b in zip(self.params, self.before):
            self.changed += (p.detach() != b).sum()

    def end_epoch(self, steps):
        return {"update_density": int(self.changed) / max(steps * self.total, 1)}


@contextmanager
def epoch_errors(where: str, checkpoint: Path, device: torch.device, batch_size: int, eval_batch_size: int):
    """Divergence and out-of-memory inside the block re-raised as one line: ``where`` it happened and the way
    out (the kept ``checkpoint``; a smaller batch size)."""
    try:
        yield
    except Divergence as e:
        raise Divergence(f"{where}: {e}; the checkpoint of the last finished epoch is kept ({checkpoint})") from None
    except torch.OutOfMemoryError:
        raise ResourceError(f"{where}: out of memory on {device} with batch_size={batch_size} "
                            f"(eval_batch_size={eval_batch_size}); rerun with a smaller one, "
                            f"e.g. --set batch_size={max(1, batch_size // 2)}") from None


def make_optimizer(net: nn.Module, lr: float, kind: str = "adam") -> torch.optim.Optimizer:
    """Adam (the original) or plain SGD, with a tensor learning rate so that hooks can rescale it per
    step without a host sync."""
    dev = next(net.parameters()).device
    lr_t = torch.tensor(lr, device=dev)
    if kind == "sgd":
        return torch.optim.SGD(net.parameters(), lr=lr_t, momentum=0.0, foreach=False)
    kw = {"fused": True} if dev.type == "cuda" else {"foreach": False}
    return torch.optim.Adam(net.parameters(), lr=lr_t, **kw)


@dataclass
class EpochResult:
    train_loss: float
    train_acc: float
    samples: int                # images trained (forward + backward)
    steps: int
    extra: dict = field(default_factory=dict)
    forward_samples: int = 0    # images that only had a selection forward pass (Selective Backprop)


def train_epoch(net: nn.Module, opt: torch.optim.Optimizer, data: DeviceData, indices: torch.Tensor,
                batch_size: int, gen: torch.Generator, hooks: list[Hook] = (), on_batch=None,
                check_every: int | None = None, selector=None, forward: nn.Module | None = None) -> EpochResult:
    """One pass over ``indices`` in random order, batches augmented on the device. ``selector``
    (``selection.PlainBatches`` by default) decides which of them are trained, e.g. Selective Backprop.
    ``forward``: the module that computes the logits (default ``net``): ``execution.prepare``'s compiled or
    channels-last module, or a DDP wrapper; the hooks always see ``net`` itself.

    A non-finite loss raises ``Divergence``; it is looked for every ``check_every`` steps (default:
    every step on a CPU, where it costs nothing, every 50 on an accelerator, to avoid host syncs)."""
    if check_every is None:
        check_every = 1 if data.device.type == "cpu" else 50
    forward = net if forward is None else forward
    forward.train()
    for h in hooks:
        h.start_epoch()
    dev = data.device
    perm = indices[torch.randperm(len(indices), device=dev, generator=gen)]
    loss_sum = torch.zeros((), device=dev)
    correct = torch.zeros((), device=dev, dtype=torch.long)
    bad_step = torch.full((), -1, device=dev, dtype=torch.long)
    last_finite = torch.zeros((), device=dev)
    step_t = torch.zeros((), device=dev, dtype=torch.long)  # the step number on the device: no host copy per step
    steps = trained = 0
    selector = selector if selector is not None else PlainBatches()
    for X, y in selector.batches(forward, data, perm, batch_size, gen):
        logits = forward(X)
        weights = next((w for w in (h.sample_weights(logits, y) for h in hooks) if w is not None), None)
        if weights is None:
            loss = F.cross_entropy(logits, y)
        else:
            loss = (weights * F.cross_entropy(logits, y, reduction="none")).sum() / weights.sum()
        for h in hooks:
            h.on_loss(logits, y, loss)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for h in hooks:
            h.after_backward(net)
        opt.step()
        for h in hooks:
            h.after_step(net)
        ld = loss.detach()
        finite = torch.isfinite(ld)
        bad_step = torch.where((bad_step < 0) & ~finite, step_t, bad_step)
        step_t += 1
        last_finite = torch.where(finite, ld, last_finite)
        loss_sum += ld * len(y)
        correct += (logits.argmax(1) == y).sum()
        steps += 1
        trained += len(y)
        if on_batch is not None:
            on_batch(steps)
        if steps % check_every == 0 and int(bad_step) >= 0:
            break
    n = max(trained, 1)
    if int(bad_step) >= 0:
        raise Divergence(f"loss became non-finite at step {int(bad_step) + 1} of the epoch "
                         f"(last finite loss {float(last_finite):.4g})")
    extra = {}
    for h in hooks:
        extra.update(h.end_epoch(steps))
    return EpochResult(float(loss_sum) / n, 100.0 * int(correct) / n, trained, steps, extra,
                       selector.forward_samples)


@torch.no_grad()
def test_logits(net: nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    net.eval()
    return torch.cat([net(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


@torch.no_grad()
def evaluate(net: nn.Module, data: DeviceData, batch_size: int, keep_logits: bool = False) -> dict:
    """Accuracy (%) on the full test set and on the held-out set (first 100 per class), with the
    held-out set's per-class accuracy. The held-out images are part of the full test set. ``keep_logits``: the
    test set's logits too (``logits``)."""
    logits = test_logits(net, data.test_x, batch_size)
    pred = logits.argmax(1)
    hit = (pred == data.test_y).float()
    h_hit, h_y = hit[data.held_out], data.test_y[data.held_out]
    k = data.num_classes
    onehot = F.one_hot(h_y, k).float()
    per_class = (h_hit @ onehot) / onehot.sum(0).clamp_min(1)
    return {"test_full": 100.0 * float(hit.mean()), "test_100": 100.0 * float(h_hit.mean()),
            "per_class": (100.0 * per_class).tolist(), **({"logits": logits} if keep_logits else {})}


def check_finite_weights(net: nn.Module) -> None:
    for name, p in net.named_parameters():
        if not torch.isfinite(p).all():
            raise Divergence(f"parameter {name} holds NaN/inf")
