"""How the training step executes (``Config.engine``, ``Config.channels_last``): what is computed stays the same,
the kernels that compute it change.

* ``channels_last``: the network's weights (and so its activations) in NHWC memory format; convolutions on CPUs
  (oneDNN) and on tensor-core GPUs run faster in it. The input batches are converted by ``prepare``'s module.
* ``engine='compile'``: ``torch.compile`` (inductor) of the network, forward and backward; the loop, the optimizer
  and the hooks (SEL's mask, the Lottery masks, E/C) run eagerly around it, as before. Compiled code is reused for
  every network of the same shapes in a process, and inductor's graph cache is kept on disk
  (``inductor_cache_dir``), so a later process compiles from the cache. The batch dimension is compiled as dynamic
  from the first call (``dynamic=True``): with torch's default, the first change of batch size (an epoch's last,
  smaller batch) recompiles every later batch into other kernels, so a run's numbers would depend on what the
  process ran before, and a resumed run would not equal the uninterrupted one (a test checks it does).

Both change the order of floating-point operations, so a run's last bits: they are part of its identity.

Known limit of ``compile`` (measured on this project's CPU, torch 2.14.1): two SEL-95 runs of one configuration in
one process trained differently from their second epoch on (the first run compiled kernels that the second reused),
while two Baseline runs, and a Baseline or Lottery run interrupted and resumed, were identical. So a compiled SEL
run's numbers depend on what its process compiled before it; the default stays ``eager`` (see ``Config.engine``).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .data import cache_dir


class ChannelsLastInput(nn.Module):
    """Calls ``net`` with its input in channels-last format (a no-op copy when it already is); shares ``net``'s
    parameters and buffers, so the state dict of ``net`` is the run's state."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.contiguous(memory_format=torch.channels_last))


def inductor_cache_dir(data_cache: str = "") -> Path:
    """Where inductor keeps compiled kernels between processes: ``<data cache>/inductor`` (the same folder as the
    decoded images, ``data.cache_dir``), unless ``TORCHINDUCTOR_CACHE_DIR`` is set."""
    return Path(os.environ.get("TORCHINDUCTOR_CACHE_DIR") or cache_dir(data_cache) / "inductor")


def to_memory_format(net: nn.Module, channels_last: bool) -> nn.Module:
    """``net`` with its 4-d parameters and buffers in channels-last format (in place), or unchanged."""
    return net.to(memory_format=torch.channels_last) if channels_last else net


def prepare(net: nn.Module, engine: str, channels_last: bool, data_cache: str = "") -> nn.Module:
    """The module the training loop and the evaluation call: ``net`` itself (eager, contiguous), ``net`` reading
    channels-last input, and/or ``torch.compile`` of it. ``net``'s parameters are converted in place, so
    optimizers, hooks and checkpoints keep using ``net``."""
    if engine not in ("eager", "compile"):
        raise ValueError(f"engine must be 'eager' or 'compile', not {engine!r}")
    step = ChannelsLastInput(to_memory_format(net, True)) if channels_last else net
    if engine == "compile":
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(inductor_cache_dir(data_cache)))
        step = torch.compile(step, dynamic=True)
    return step
