"""The data-parallel wiring of an experiment whose registry entry names a gradient ``exchange``: the worker
processes, the DDP wrapper with its communication hook, and the sums and gathers across workers.

``world_size`` processes each run the experiment with their ``rank`` (``comm.launch``): gloo on CPUs, NCCL with one
GPU per worker. Worker 0 evaluates and writes every file; every worker's top-k residuals go into its checkpoint.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from . import comm
from ..config import Config, ConfigError
from .train import Divergence, ResourceError


def join(rank: int, world: int, device: torch.device) -> None:
    """Join the process group as worker ``rank`` (a CUDA worker first selects its own GPU)."""
    if device.type == "cuda":
        if torch.cuda.device_count() < world:
            raise ConfigError(f"bad parameter world_size={world}: NCCL needs one GPU per worker and "
                              f"{torch.cuda.device_count()} is available; use device=cpu (gloo)")
        torch.cuda.set_device(rank)  # "auto"/"cuda" resolve to this worker's GPU
    dist.init_process_group(comm.backend(device), rank=rank, world_size=world)


def launch(target: Callable, cfg: Config, args: tuple) -> None:
    """``target(rank, world, *args)`` in ``cfg.world_size`` worker processes; their errors come back as ours."""
    comm.launch(target, cfg.world_size, args, {e.__name__: e for e in (ConfigError, Divergence, ResourceError)})


def wrap(net: torch.nn.Module, mode: str, world: int) -> tuple[comm.GradientExchange, torch.nn.Module]:
    """The gradient exchange of ``mode`` (dense | sel | topk) and ``net`` in DDP with it as communication hook."""
    exchange = comm.GradientExchange(mode, list(net.parameters()), world)
    ddp = DistributedDataParallel(net, forward_sync_buffers=False)
    ddp.register_comm_hook(exchange, comm.GradientExchange.hook)
    return exchange, ddp


def total(count: int, device: torch.device) -> int:
    """A per-worker count summed over the workers."""
    t = torch.tensor([count], device=device)
    dist.all_reduce(t)
    return int(t)


def gather_states(exchange: comm.GradientExchange, world: int) -> list:
    """Every worker's exchange state (its top-k residuals), for worker 0's checkpoint."""
    states = [None] * world
    dist.all_gather_object(states, exchange.state_dict())
    return states
