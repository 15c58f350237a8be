"""A run's cost accounting: cumulative counters of what its epochs executed, and the cost charged before training.

The counters feed the CSV row's cost columns (``rows.RowSchema``); ``prior`` is run.json's ``prior_cost``. A
checkpoint keeps both as plain dicts (``state_dict``), the form earlier checkpoints hold too.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..registry import Plan
from .flops import ExecutedFlops, ideal_pruned_flops, ideal_sparse_flops, proxy_flops
from .train import EpochResult


def empty_prior() -> dict:
    """The cost charged before training when nothing is: no FLOPs, images or seconds."""
    return {"exec_flops": 0.0, "samples": 0, "time_s": 0.0, "what": []}


@dataclass
class Accounting:
    """Cumulative counters of one run. ``flops``: the original's proxy FLOPs of the logged epochs; ``exec_flops``:
    executed training FLOPs (selection forward passes and the plan's charges included); ``samples``: images
    trained, charges included; ``time_s``: seconds since the clock started (a phase that resets it restarts it);
    ``eval_flops``: executed evaluation FLOPs; ``skippable``: training FLOPs of zeroed entries (the ideal sparse
    count is ``exec_flops - skippable``); ``forward_samples``: images with a selection forward pass only;
    ``gamma``: the last epoch's mean adaptive threshold (None without one); ``prior``: the cost charged before
    training (``exec_flops``, ``samples``, ``time_s``, ``what``, and the plan's ``info``)."""
    flops: float = 0.0
    exec_flops: float = 0.0
    samples: int = 0
    time_s: float = 0.0
    eval_flops: float = 0.0
    skippable: float = 0.0
    forward_samples: int = 0
    gamma: float | None = None
    prior: dict = field(default_factory=empty_prior)
    clock: float = field(default=0.0, repr=False)  # perf_counter() at which time_s was 0

    COUNTERS = ("flops", "exec_flops", "samples", "time_s", "eval_flops", "skippable", "forward_samples", "gamma")

    @property
    def ideal_flops(self) -> float:
        """Training FLOPs with perfect sparse kernels: executed minus the work of zeroed entries."""
        return self.exec_flops - self.skippable

    def charge(self, plan: Plan) -> None:
        """Charge a new run the plan's costs made before training (a curriculum's scoring, a pretraining) and
        record the plan's ``info`` beside them."""
        for ch in plan.charges:
            self.prior["what"].append(ch.what)
            self.prior["exec_flops"] += ch.exec_flops
            self.prior["samples"] += ch.samples
            self.prior["time_s"] += ch.time_s
            self.exec_flops += ch.exec_flops
            self.samples += ch.samples
        self.prior.update(plan.info)

    def start_clock(self) -> None:
        """Start (or, resumed, continue) the clock from ``time_s``."""
        self.clock = time.perf_counter() - self.time_s

    def tick(self) -> None:
        """``time_s``: the seconds since the clock started."""
        self.time_s = time.perf_counter() - self.clock

    def restart_clock(self, what: str) -> None:
        """Move the cost so far into ``prior`` (``what`` says what it paid for) and restart the clock: the original
        counts the Lottery Ticket's cost from retraining on."""
        self.prior.update(time_s=self.prior["time_s"] + time.perf_counter() - self.clock,
                          exec_flops=self.exec_flops, samples=self.samples, what=self.prior["what"] + [what])
        self.clock = time.perf_counter()

    def add_epoch(self, res: EpochResult, flops: ExecutedFlops, batch_size: int, pruned: bool) -> None:
        """Count a trained epoch: its images, executed FLOPs (training and selection forward passes), the work its
        zeroed entries could skip (a pruned network skips all three products, ``ideal_pruned_flops``; a masked
        gradient its weight-gradient product, ``ideal_sparse_flops``) and its adaptive threshold."""
        self.samples += res.samples
        train_flops = flops.train_epoch(res.samples, batch_size)
        self.exec_flops += train_flops + flops.forward_pass(res.forward_samples, batch_size)
        self.forward_samples += res.forward_samples
        self.gamma = res.extra.get("gamma")
        ideal = ideal_pruned_flops if pruned else ideal_sparse_flops
        self.skippable += train_flops - ideal(train_flops, flops.forward_pass(res.samples, batch_size),
                                              res.extra.get("sparsity", 0.0))

    def add_evaluation(self, num_params: int, res: EpochResult, eval_flops: float) -> None:
        """Count a logged epoch: the original's proxy FLOPs of its training and the evaluation's executed FLOPs."""
        self.flops += proxy_flops(num_params, res.samples, res.extra.get("sparsity", 0.0))
        self.eval_flops += eval_flops

    def state_dict(self) -> dict:
        """The counters (``c``) and the prior cost (``prior``), as a checkpoint keeps them."""
        return {"c": {k: getattr(self, k) for k in self.COUNTERS}, "prior": self.prior}

    @classmethod
    def from_state(cls, state: dict) -> "Accounting":
        """The accounting a checkpoint kept (one written before a counter existed starts that counter at zero)."""
        return cls(**{k: v for k, v in state["c"].items() if k in cls.COUNTERS}, prior=state["prior"])
