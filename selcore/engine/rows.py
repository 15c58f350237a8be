"""The per-epoch CSV row: one schema owns each column's name, position and value.

The columns are the original release's ``epoch, [stage,] train_acc, train_loss, test_full, test_100, flops_T, time_s,
sparsity, acc_<class>`` (+ ``E_<class>, C_<class>`` for SEL runs), then ours: ``exec_flops_T`` (executed
forward+backward training FLOPs, 1e12, cumulative), ``samples_seen``, ``exec_eval_flops_T`` (executed evaluation
FLOPs, cumulative), ``ideal_flops_T`` (training FLOPs with perfect sparse kernels, cumulative: a masked gradient skips
its weight-gradient products, a pruned weight all three) and ``update_density`` (fraction of weights that changed per
step, epoch mean). The registry entry's column groups add more: ``forward_samples`` (Selective Backprop), ``gamma``
(the adaptive threshold's epoch mean), ``comm`` (``COMM_COLUMNS``), ``task`` (Split CIFAR-10: the task, and the
class-incremental and task-incremental accuracy on every task's test images, ``cil_task<t>``, ``til_task<t>``).

Adding a logged column touches this file (a ``Column`` in ``schema``, and a group name in ``registry`` when only some
experiments log it) and, when the value is new, the hook or counter that measures it (``train.Hook.end_epoch``'s
dict, ``accounting.Accounting``). A row restored from a checkpoint written before a column existed gets an empty
cell there (``RowSchema.restore``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterable

from .. import schedules
from ..registry import Phase, spec
from .accounting import Accounting
from .continual import task_accuracies
from .data import CLASSES, DeviceData
from .train import EpochResult

COMM_COLUMNS = ("comm_bytes", "comm_msg_bytes", "comm_dense_bytes", "comm_tensor_bytes", "comm_density",
                "comm_steps")
"""The data-parallel experiments' per-step communication (``comm.GradientExchange.epoch_stats``)."""


@dataclass
class EpochLog:
    """What one logged epoch's row is made of: its number, phase, training result, evaluation (``train.evaluate``:
    ``test_full``, ``test_100``, ``per_class``, and ``logits`` for a phase with a task), the run's counters, and
    the data with its task split (the task columns' test labels and classes)."""
    epoch: int
    phase: Phase
    result: EpochResult
    evaluation: dict
    account: Accounting
    data: DeviceData
    classes_per_task: int

    @property
    def extra(self) -> dict:
        """What the epoch's hooks contributed (``train.Hook.end_epoch``)."""
        return self.result.extra

    @cached_property
    def tasks(self) -> tuple[list[float], list[float]]:
        """The class-incremental and task-incremental accuracy (%) on each task's test images."""
        split = schedules.task_classes(self.data.num_classes, self.classes_per_task)
        return task_accuracies(self.evaluation["logits"], self.data.test_y, split)


@dataclass(frozen=True)
class Column:
    """One CSV column: its name and how an epoch's log gives its value (None writes an empty cell)."""
    name: str
    value: Callable[[EpochLog], Any]


def _signal(key: str, i: int) -> Callable[[EpochLog], Any]:
    """Class ``i``'s entry of the SEL hook's per-class signal ``key`` (E or C), 0 in an epoch without the hook."""
    return lambda e: e.extra[key][i] if key in e.extra else 0.0


def schema(experiment: str, classes: Iterable[str] = CLASSES, num_tasks: int = 5) -> tuple[Column, ...]:
    """The columns of ``experiment``'s CSV, in order (the groups come from its registry entry)."""
    classes, groups = list(classes), spec(experiment).columns
    cols = [Column("epoch", lambda e: e.epoch)]
    if "stage" in groups:
        cols.append(Column("stage", lambda e: e.phase.log.stage))
    if "task" in groups:
        cols.append(Column("task", lambda e: e.phase.log.task))
    cols += [Column("train_acc", lambda e: e.result.train_acc), Column("train_loss", lambda e: e.result.train_loss),
             Column("test_full", lambda e: e.evaluation["test_full"]),
             Column("test_100", lambda e: e.evaluation["test_100"]),
             Column("flops_T", lambda e: e.account.flops / 1e12), Column("time_s", lambda e: e.account.time_s),
             Column("sparsity", lambda e: e.extra.get("sparsity", 0.0))]
    cols += [Column(f"acc_{c}", lambda e, i=i: e.evaluation["per_class"][i]) for i, c in enumerate(classes)]
    if "signals" in groups:
        cols += [Column(f"E_{c}", _signal("E", i)) for i, c in enumerate(classes)]
        cols += [Column(f"C_{c}", _signal("C", i)) for i, c in enumerate(classes)]
    cols += [Column("exec_flops_T", lambda e: e.account.exec_flops / 1e12),
             Column("samples_seen", lambda e: e.account.samples),
             Column("exec_eval_flops_T", lambda e: e.account.eval_flops / 1e12),
             Column("ideal_flops_T", lambda e: e.account.ideal_flops / 1e12),
             Column("update_density", lambda e: e.extra["update_density"])]
    if "forward_samples" in groups:
        cols.append(Column("forward_samples", lambda e: e.account.forward_samples))
    if "gamma" in groups:
        cols.append(Column("gamma", lambda e: e.account.gamma))
    if "comm" in groups:
        cols += [Column(k, lambda e, k=k: e.extra[k]) for k in COMM_COLUMNS]
    if "task" in groups:
        cols += [Column(f"cil_task{t + 1}", lambda e, t=t: e.tasks[0][t]) for t in range(num_tasks)]
        cols += [Column(f"til_task{t + 1}", lambda e, t=t: e.tasks[1][t]) for t in range(num_tasks)]
    return tuple(cols)


def columns(experiment: str, classes: Iterable[str] = CLASSES, num_tasks: int = 5) -> list[str]:
    """The names of ``experiment``'s CSV columns, in order (see ``schema``)."""
    return [c.name for c in schema(experiment, classes, num_tasks)]


class RowSchema:
    """The rows of one run: ``row`` makes an epoch's, ``restore`` completes those of an older checkpoint."""

    def __init__(self, experiment: str, classes: Iterable[str], num_tasks: int):
        self.columns = schema(experiment, classes, num_tasks)
        self.names = [c.name for c in self.columns]

    def row(self, log: EpochLog) -> dict:
        """The CSV row of one logged epoch."""
        return {c.name: c.value(log) for c in self.columns}

    def restore(self, rows: list[dict]) -> list[dict]:
        """Rows kept by a checkpoint, with an empty cell in each column they predate."""
        return [{name: r.get(name, "") for name in self.names} for r in rows]

