"""How the training step executes (``Config.engine``, ``Config.channels_last``): what is computed stays the same,
the kernels that compute it change.

* ``channels_last``: the network's weights (and so its activations) in NHWC memory format; on this project's CPU
  its convolutions ran faster so (``python -m selcore bench`` measures it; not measured on a GPU). The input
  batches are converted by ``prepare``'s module.
* ``engine='compile'``: ``torch.compile`` (inductor) of the network, forward and backward; the loop, the optimizer
  and the hooks (SEL's mask, the Lottery masks, E/C) run eagerly around it, as before. In one process a second
  network of the same shapes compiled in seconds where the first took about a minute (bench's ``first_epoch_s``);
  inductor's cache is kept on disk (``inductor_cache_dir``) for later processes, what that saves was not measured.
  The batch dimension is compiled as dynamic from the first call (``dynamic=True``), so that an epoch's smaller
  last batch does not recompile the step (torch's default marks a dimension dynamic only after it has changed).

Both change the order of floating-point operations, so a run's last bits: they are part of its identity.

Known limit of ``compile`` (measured on this project's CPU, torch 2.14.1): a compiled SEL-95 run is not
reproducible. With torch's default shapes, a resumed run differed from the uninterrupted one from its fifth epoch;
with ``dynamic=True``, two runs of one configuration in one process differed from their second epoch. Baseline and
Lottery runs interrupted and resumed under ``dynamic=True`` equal the uninterrupted ones (a test checks it). The
cause was not found; the default stays ``eager`` (see ``Config.engine``).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..config import ENGINES
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
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    step = ChannelsLastInput(to_memory_format(net, True)) if channels_last else net
    if engine == "compile":
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(inductor_cache_dir(data_cache)))
        step = torch.compile(step, dynamic=True)
    return step
