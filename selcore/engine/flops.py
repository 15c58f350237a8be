"""Compute accounting: the original's FLOPs proxy and the FLOPs a step actually executes.

* ``proxy_flops`` is the original release's definition, kept only so that tables stay comparable.
* ``ExecutedFlops`` measures what the kernels execute, with ``torch.utils.flop_counter`` on the real
  model and batch shape (convolutions and matrix products, forward and backward; element-wise work
  such as batch norm and ReLU is not counted by torch's counter). The count runs on a copy of the model
  on the ``meta`` device, so it costs no compute and never touches the trained weights.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def proxy_flops(num_params: int, samples: int, sparsity: float = 0.0) -> float:
    """The original release's "FLOPs": 2 * params * samples * (1 - sparsity).

    It is not a count of executed operations: a ResNet-18 forward+backward pass costs about
    3.3 GFLOP per 32x32 image, while 2 * params is 0.022 GFLOP, and zeroing gradient entries after a
    dense backward pass removes no executed work."""
    return 2.0 * num_params * samples * (1.0 - sparsity)


def ideal_sparse_flops(train_flops: float, forward_flops: float, sparsity: float) -> float:
    """FLOPs an accelerator with perfect sparse kernels could execute for the same step:
    ideal = train - sparsity * wgrad, with wgrad = forward (for every convolution and linear layer the
    weight-gradient product has exactly the forward product's size). Only the weight-gradient work can
    be skipped for a zeroed gradient entry; the forward pass and the input-gradient pass that carries the
    error to earlier layers still run densely. At 99% sparsity this saves at most a third of a step."""
    return train_flops - sparsity * forward_flops


def ideal_pruned_flops(train_flops: float, forward_flops: float, sparsity: float) -> float:
    """FLOPs an accelerator with perfect sparse kernels could execute for a step of a pruned network whose zeroed
    gradient entries are its pruned weights: ideal = train - sparsity * min(train, 3 * forward). A pruned weight
    takes part in none of the three products (forward, input gradient, weight gradient), each the forward
    product's size; the other work (BatchNorm, activations, loss) is counted as prunable too, so this is a lower
    bound on what such an accelerator executes."""
    return train_flops - sparsity * min(train_flops, 3 * forward_flops)


PER_IMAGE: dict[tuple, int] = {}
"""Executed FLOPs per image, by (architecture, image shape, mode): measured once per process (``ExecutedFlops``)."""


class ExecutedFlops:
    """Executed FLOPs of one model architecture, per batch shape.

    ``train(b)``: forward + cross-entropy + backward of a batch of b images in training mode.
    ``forward(b)``: an inference forward pass (evaluation, difficulty scoring).

    Every product torch's counter counts (convolutions and matrix products, forward and backward) is linear in the
    batch, so a batch of b images costs b times one image's count. That count is measured once per architecture
    (its module tree, ``repr``) and image shape in a process, on a batch of two (a batch-norm layer in training mode
    needs more than one value per channel), and shared by every run of that architecture (``PER_IMAGE``)."""

    def __init__(self, net: nn.Module, image_shape=(3, 32, 32)):
        self._net = net
        self._shape = tuple(image_shape)
        self._arch = (type(net).__qualname__, repr(net), self._shape)

    def per_image(self, mode: str) -> int:
        """Executed FLOPs of one image in ``mode`` ('train' or 'forward'), measured once per architecture."""
        key = (*self._arch, mode)
        if key not in PER_IMAGE:
            PER_IMAGE[key] = measure_flops(self._net, mode, 2, self._shape) // 2
        return PER_IMAGE[key]

    def _count(self, mode: str, batch: int) -> int:
        return batch * self.per_image(mode)

    def train(self, batch: int) -> int:
        return self._count("train", batch)

    def forward(self, batch: int) -> int:
        return self._count("forward", batch)

    def train_epoch(self, samples: int, batch_size: int) -> int:
        """Executed training FLOPs of one epoch over ``samples`` images in batches of ``batch_size``."""
        full, rest = divmod(samples, batch_size)
        return full * self.train(batch_size) + (self.train(rest) if rest else 0)

    def forward_pass(self, samples: int, batch_size: int) -> int:
        full, rest = divmod(samples, batch_size)
        return full * self.forward(batch_size) + (self.forward(rest) if rest else 0)


def measure_flops(net: nn.Module, mode: str, batch: int, image_shape=(3, 32, 32)) -> int:
    """Executed FLOPs of one pass of a batch of ``batch`` images through a copy of ``net`` on the ``meta`` device
    (no compute, the trained weights untouched), counted by ``torch.utils.flop_counter``: 'train' is forward,
    cross-entropy and backward in training mode, 'forward' an inference forward pass."""
    meta = copy.deepcopy(net).to("meta")
    x = torch.empty(batch, *image_shape, device="meta")
    y = torch.zeros(batch, dtype=torch.long, device="meta")
    with FlopCounterMode(display=False) as counter:
        if mode == "train":
            meta.train()
            F.cross_entropy(meta(x), y).backward()
        else:
            meta.eval()
            with torch.no_grad():
                meta(x)
    return int(counter.get_total_flops())
