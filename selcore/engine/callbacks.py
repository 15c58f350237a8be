"""What happens after each training epoch, as callbacks around the loop: evaluation and the CSV row, the checkpoint,
and progress (the console bar or log line, and the ETA file).

A callback is called as ``callback(run, phase, result)`` once the run's counters hold the epoch and its position
points past it; ``standard_callbacks`` gives them in their order.
"""
from __future__ import annotations

import sys
import time
from typing import Callable

from tqdm import tqdm  # the console bar on stderr (tqdm.auto warns in a kernel without ipywidgets)

from .. import progress
from ..registry import Phase
from .rows import EpochLog
from .train import EpochResult, evaluate

Callback = Callable[..., None]
"""``callback(run, phase, result)``: ``run`` is the ``experiments.Experiment`` (which imports this module)."""


def evaluate_and_log(run, ph: Phase, res: EpochResult) -> None:
    """A logged epoch (on the lead process): count its proxy and evaluation FLOPs, evaluate, and append and write
    its CSV row; every epoch: the clock."""
    if not (ph.log.logged and run.lead):
        run.account.tick()
        return
    ev = evaluate(run.state.eval_net, run.data, run.cfg.eval_batch_size, keep_logits=ph.log.task is not None)
    run.account.add_evaluation(run.state.num_params, res,
                               run.flops.forward_pass(len(run.data.test_y), run.cfg.eval_batch_size))
    run.account.tick()
    log = EpochLog(len(run.rows) + 1, ph, res, ev, run.account, run.data, run.cfg.classes_per_task)
    run.rows.append(run.schema.row(log))
    run.record.save_csv(run.schema.names, run.rows)


def save_checkpoint(run, ph: Phase, res: EpochResult) -> None:
    """The checkpoint after every epoch (written by the lead process)."""
    run.save_checkpoint()


class Progress:
    """The console bar (``progress=bar``) or log line (``progress=log``) of the lead process, and the ETA file
    (``progress.epoch_done``)."""

    def __init__(self, run, total: int, done: int):
        self.lead, self.mode, self.name = run.lead, run.cfg.progress, run.cfg.experiment
        self.run_id = f"{run.paths.root}/{run.cfg.experiment}"
        self.bar = tqdm(total=total, initial=done, desc=self.name, unit="epoch", file=sys.stderr,
                        dynamic_ncols=True) if self.mode == "bar" and self.lead else None
        if self.lead:
            progress.run_started(self.run_id, total, done)
        self.last = time.perf_counter()

    def __call__(self, run, ph: Phase, res: EpochResult) -> None:
        info = {"phase": ph.name, "loss": f"{res.train_loss:.3f}", "acc": f"{res.train_acc:.1f}"}
        if ph.log.logged and run.rows:
            info["test"] = f"{run.rows[-1]['test_full']:.1f}"
        if self.bar is not None:
            self.bar.set_postfix(info)
            self.bar.update(1)
        elif self.mode == "log" and self.lead:
            run.log(f"[{self.name}] " + " ".join(f"{k}={v}" for k, v in info.items()) +
                    f" time={run.account.time_s:.0f}s")
        if self.lead:
            now = time.perf_counter()
            progress.epoch_done(self.run_id, now - self.last)
            self.last = now

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def standard_callbacks(run, total: int, done: int) -> tuple[list[Callback], Progress]:
    """The callbacks of every run, in order (evaluation and row, checkpoint, progress), and the progress one
    (to close when the run ends)."""
    shown = Progress(run, total, done)
    return [evaluate_and_log, save_checkpoint, shown], shown
