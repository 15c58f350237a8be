"""What training changes and a checkpoint keeps, apart from the counters and rows: the network, its optimizer, the
generators, the Lottery Ticket's masks and initial weights, the selectors' histories and a data-parallel worker's
gradient exchange; and the hooks each phase trains with.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from . import checkpoint, comm, continual, execution, lottery, sel, workers
from ..config import Config
from ..registry import Phase
from .curriculum import training_model
from .models import count_params
from .selection import SelectiveBackprop, TopFraction
from .train import Hook, MaskHook, SELHook, UpdateDensityHook, make_optimizer

MASK_SEED_OFFSET = 15485863
"""The random-mask control draws from ``seed + MASK_SEED_OFFSET``, apart from the data's generator."""


@dataclass
class TrainingState:
    """One run's trained objects. ``net`` keeps the weights; ``train_net`` is what the loop calls (the network, its
    compiled or channels-last form, or a worker's DDP wrapper) and ``eval_net`` what the evaluation calls."""
    net: nn.Module
    train_net: nn.Module
    eval_net: nn.Module
    opt: torch.optim.Optimizer
    gen: torch.Generator
    mask_gen: torch.Generator
    selectors: dict
    num_params: int
    exchange: comm.GradientExchange | None = None
    masks: dict[str, torch.Tensor] = field(default_factory=dict)
    initial_state: dict | None = None
    grad_sample: sel.GradientSample | None = None  # the adaptive threshold's sample, made when first needed

    @classmethod
    def build(cls, cfg: Config, num_classes: int, device: torch.device, rank: int | None,
              exchange: str | None) -> "TrainingState":
        """The network of ``cfg`` on ``device`` (on a worker, ``rank`` is set: wrapped in DDP with the gradient
        ``exchange``), its optimizer and the generators seeded from ``cfg.seed``."""
        net = execution.to_memory_format(training_model(cfg, num_classes).to(device), cfg.channels_last)
        grad_exchange, train_net = (None, net) if rank is None else workers.wrap(net, exchange, cfg.world_size)
        train_net = execution.prepare(train_net, cfg.engine, cfg.channels_last, cfg.data_cache)
        eval_net = train_net if rank is None else execution.prepare(net, cfg.engine, cfg.channels_last,
                                                                    cfg.data_cache)
        opt = make_optimizer(net, cfg.lr, cfg.optimizer)
        gen = torch.Generator(device=device)
        gen.manual_seed(cfg.seed)
        mask_gen = torch.Generator(device=device)
        mask_gen.manual_seed(cfg.seed + MASK_SEED_OFFSET)
        selectors = {"sb": SelectiveBackprop(cfg.sb_beta, cfg.sb_history), "topk": TopFraction(cfg.sb_fraction)}
        return cls(net, train_net, eval_net, opt, gen, mask_gen, selectors, count_params(net), grad_exchange)

    def keep_initial_weights(self) -> None:
        """Keep the initial weights for a later rewind (once)."""
        if self.initial_state is None:
            self.initial_state = lottery.snapshot(self.net)

    def prune_and_rewind(self, cfg: Config) -> None:
        """Global magnitude pruning, rewind to the initial weights, a fresh optimizer."""
        self.masks = lottery.global_magnitude_masks(self.net, cfg.prune_fraction, cfg.prune_scope)
        lottery.rewind(self.net, self.initial_state, self.masks, mask_now=cfg.rewind_masking == "at_rewind")
        self.opt = make_optimizer(self.net, cfg.lr, cfg.optimizer)

    def hooks(self, ph: Phase, cfg: Config, num_classes: int) -> list[Hook]:
        """The hooks phase ``ph`` trains with: SEL's, the random-mask control's, the gradient exchange's, the
        Lottery masks', and last the update density (it sees the weights after every other hook)."""
        hooks: list[Hook] = []
        g = ph.gradient
        if g.target_density is not None and self.grad_sample is None:
            self.grad_sample = sel.GradientSample(self.net, cfg.density_sample, cfg.seed)
        if self.exchange is not None:  # the gradient exchange masks (each worker its own gradient), not the hook
            self.exchange.gamma = g.gamma
        if ph.sel_hook:
            hooks.append(SELHook(self.opt, cfg.lr, g.gamma if self.exchange is None else None, num_classes,
                                 cfg.temperature, cfg.lr_loss_scale, scale_lr=g.scale_lr,
                                 target_density=g.target_density, sample=self.grad_sample,
                                 class_weights=g.class_weights,
                                 loss_reduce=comm.mean_over_workers(self.exchange) if self.exchange else None))
        if g.random_gamma is not None:
            hooks.append(continual.RandomMaskHook(g.random_gamma, self.mask_gen))
        if self.exchange is not None:
            hooks.append(comm.CommHook(self.exchange))
        if self.masks:
            hooks.append(MaskHook(self.masks))
        return hooks + [UpdateDensityHook(self.net)]

    def selector(self, ph: Phase, rank: int | None, world_size: int):
        """Which of an epoch's batches phase ``ph`` trains: a worker's shard, a replay schedule, Selective
        Backprop's or the top fraction's choice, or all (None)."""
        if rank is not None:
            return comm.ShardedBatches(rank, world_size)
        if ph.data.replay is not None:
            return continual.ReplayBatches(ph.data.replay)
        return self.selectors[ph.data.selector] if ph.data.selector else None

    def state_dict(self, device: torch.device, world_size: int) -> dict:
        """The checkpoint's entries for this state (a worker's: every worker's top-k residuals, gathered)."""
        state = {"net": self.net.state_dict(), "opt": self.opt.state_dict(), "gen": self.gen.get_state(),
                 "rng": checkpoint.pack_rng(device), "masks": self.masks, "initial_state": self.initial_state,
                 "selectors": {k: v.state_dict() for k, v in self.selectors.items()},
                 "mask_gen": self.mask_gen.get_state()}
        if self.exchange is not None:
            state["comm"] = workers.gather_states(self.exchange, world_size)
        return state

    def load_state_dict(self, st: dict, cfg: Config, rank: int | None) -> None:
        """Restore what ``state_dict`` kept (a checkpoint older than the selectors or the mask generator keeps
        their fresh state)."""
        self.net.load_state_dict(st["net"])
        self.opt = make_optimizer(self.net, cfg.lr, cfg.optimizer)
        self.opt.load_state_dict(st["opt"])
        self.gen.set_state(st["gen"].cpu())
        checkpoint.unpack_rng(st["rng"])
        self.masks, self.initial_state = st["masks"], st["initial_state"]
        for k, v in st.get("selectors", {}).items():
            self.selectors[k].load_state_dict(v)
        if "mask_gen" in st:
            self.mask_gen.set_state(st["mask_gen"].cpu())
        if self.exchange is not None:
            self.exchange.load_state_dict(st["comm"][rank])
