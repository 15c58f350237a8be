"""An experiment run: its registry entry's plan executed over one training loop, resumable epoch by epoch.

``Experiment.run`` sets up the data and the trained objects (``training_state.TrainingState``), asks the registry
entry for its plan (phases and the charges made before training, ``registry.Plan``), and runs the phases' epochs with
the hooks each phase's typed parts call for. After every epoch the run's counters (``accounting.Accounting``) take the
epoch, and the end-of-epoch callbacks (``callbacks.standard_callbacks``) evaluate and write the CSV row of a logged
epoch (``rows.RowSchema``), the checkpoint (``record.RunRecord``) and the progress.
Rerunning the same call continues from the last checkpoint; a finished experiment skips itself. An experiment
with a gradient exchange runs as data-parallel workers (``workers``).
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

from . import workers
from ..config import Config, ConfigError
from ..registry import Phase, Plan, PlanInputs, OracleScores, spec
from .accounting import Accounting
from .callbacks import standard_callbacks
from .curriculum import cached_curriculum, curriculum_path
from .data import CIFAR10, DeviceData, load_cifar10
from .difficulty import order_agreement, trained_model_scores
from .flops import ExecutedFlops
from .models import require_weights
from .record import RunRecord, source_name
from .results import dirty_warning
from .rows import RowSchema
from .train import EpochResult, Hook, check_finite_weights, epoch_errors, set_determinism, train_epoch
from .training_state import TrainingState

def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"bad parameter device={name!r}: CUDA is not available here; use 'cpu' or 'auto'")
    return dev


class Experiment:
    """One experiment of ``cfg.experiment`` writing into ``out_dir``. An experiment whose registry entry has a
    gradient ``exchange`` runs as ``cfg.world_size`` worker processes, each an ``Experiment`` with its ``rank``;
    worker 0 evaluates and writes every file."""

    def __init__(self, cfg: Config, out_dir: str | Path, data: CIFAR10 | None = None, rank: int | None = None):
        self.cfg, self.spec, self.rank = cfg, spec(cfg.experiment), rank
        self.lead = rank in (None, 0)
        self.record = RunRecord(cfg, Path(out_dir), self.lead, self.log)
        self.paths = self.record.paths
        self.device = resolve_device(cfg.device)
        self._raw = data
        self.data: DeviceData | None = None
        self.state: TrainingState | None = None
        self.account = Accounting()
        self.rows: list[dict] = []
        self.pos, self.resumed = (0, 0), False  # (phase, epochs done in it); continued from a checkpoint

    @property
    def source(self) -> str:
        """The data source's recorded name."""
        return self.data.source if self.data else self._raw.source if self._raw is not None else \
            source_name(self.cfg.data)

    def setup(self):
        """Data on the device, then the trained objects (``TrainingState``) and the row schema."""
        cfg = self.cfg
        set_determinism(cfg.deterministic)
        raw = self._raw if self._raw is not None else load_cifar10(cfg.data, cfg.data_cache)
        self.data = DeviceData(raw, self.device, cfg.train_per_class, cfg.held_out_per_class, cfg.test_per_class)
        require_weights(cfg.pretrained, cfg.weights_file)  # the data's errors first, then the weights', then the work
        self.state = TrainingState.build(cfg, self.data.num_classes, self.device, self.rank, self.spec.exchange)
        self.flops = ExecutedFlops(self.state.net)
        self.schema = RowSchema(cfg.experiment, self.data.classes, self.data.num_classes // cfg.classes_per_task)

    def plan_inputs(self) -> PlanInputs:
        """What the registry entry's plan reads: labels, epoch costs, and what the entry ``needs``."""
        n, bs = len(self.data), self.cfg.batch_size
        cur = oracle = None
        if "curriculum" in self.spec.needs:
            cur = cached_curriculum(self.cfg, self.data, self.paths.root, self.flops)
            cur = {**cur, "order": [o.to(self.device) for o in cur["order"]]}
        if "baseline" in self.spec.needs:
            scores, flops = trained_model_scores(self.paths.root, self.cfg, self.data, self.flops)
            oracle = OracleScores(scores, flops, order_agreement(cur["scores"], scores, self.data.train_y,
                                                                 self.data.classes))
        return PlanInputs(self.cfg, self.data.train_y, self.data.num_classes, self.flops.train_epoch(n, bs),
                          self.flops.forward_pass(n, bs), cur, oracle)

    def plan(self) -> list[Phase]:
        """The entry's phases. A new run is charged the plan's charges (a resumed run's counters hold them) and,
        when a phase prunes and rewinds, keeps the initial weights."""
        plan: Plan = self.spec.plan(self.plan_inputs())
        if not self.resumed:
            self.account.charge(plan)
        if any(p.gradient.prune_and_rewind for p in plan.phases):
            self.state.keep_initial_weights()
        return list(plan.phases)

    def save_checkpoint(self):
        self.record.save_checkpoint({"identity": self.record.identity(self.source), "pos": list(self.pos),
                                     "rows": self.rows, **self.account.state_dict(),
                                     **self.state.state_dict(self.device, self.cfg.world_size)})

    def restore(self) -> bool:
        """Continue from the last checkpoint, if there is one."""
        st = self.record.load_checkpoint(self.source, self.device)
        if st is not None:
            self.state.load_state_dict(st, self.cfg, self.rank)
            self.account, self.rows, self.pos = Accounting.from_state(st), self.schema.restore(st["rows"]), \
                tuple(st["pos"])
        return st is not None

    def write_run_json(self, status: str, extra: dict | None = None):
        data = self.data
        fields = {"identity": self.record.identity(self.source) if data else None, "seed": self.cfg.seed,
                  "data_source": data.source if data else self.cfg.data, "train_images": len(data) if data else None,
                  "num_params": self.state.num_params if self.state else None, "prior_cost": self.account.prior,
                  "workers": self.cfg.world_size if self.spec.exchange else 1, "epochs_logged": len(self.rows)}
        self.record.write_run_json(status, fields, self.device, extra)

    def is_finished(self) -> bool:
        """A finished run of the same parameters (data compared by source name) is in the folder."""
        return self.record.is_finished(self.source)

    def run(self, fresh: bool = False) -> Path:
        """Run (or resume, or skip if finished) the experiment; returns the CSV path."""
        if self.record.finished_or_cleared(fresh, self.source):
            return self.paths.csv
        if self.spec.exchange and self.rank is None:
            prepare_curriculum(self.cfg, self.paths.root, self._raw)  # the workers only read it
            workers.launch(_worker, self.cfg, (self.cfg, str(self.paths.root), self._raw))
            return self.paths.csv
        self.setup()
        self.resumed = self.restore()
        phases = self.plan()
        done = sum(p.epochs for p in phases[:self.pos[0]]) + self.pos[1]  # epochs of the plan already done
        resumed_at = {"resumed": self.resumed, **({"resumed_at_epoch": done} if self.resumed else {})}
        self.write_run_json("running", resumed_at)
        if self.lead and (dirty := dirty_warning()):  # once per run, whatever progress says
            print(dirty, file=sys.stderr, flush=True)
        callbacks, shown = standard_callbacks(self, sum(p.epochs for p in phases), done)
        self.account.start_clock()
        try:
            while self.pos[0] < len(phases):
                pi, ph = self.pos[0], phases[self.pos[0]]
                hooks = self._begin_phase(phases, pi)
                while self.pos[0] == pi and self.pos[1] < ph.epochs:
                    res = self._epoch(ph, hooks, len(self.rows) + 1 if ph.log.logged else self.pos[1] + 1)
                    self.account.add_epoch(res, self.flops, self.cfg.batch_size, pruned=bool(self.state.masks))
                    self.pos = next_position(phases, self.pos, self.account.exec_flops)
                    for callback in callbacks:
                        callback(self, ph, res)
                if self.pos[0] == pi:  # a phase of no epochs
                    self.pos = (pi + 1, 0)
        except BaseException as e:
            stopped = isinstance(e, (KeyboardInterrupt, SystemExit))  # Ctrl-C, a scheduler's preemption/requeue
            self.write_run_json("interrupted" if stopped else "failed", {"error": f"{type(e).__name__}: {e}"})
            raise
        finally:
            shown.close()
        self.write_run_json("finished", resumed_at)
        return self.paths.csv

    def _begin_phase(self, phases: list[Phase], pi: int) -> list[Hook]:
        """Phase ``pi``'s hooks; at its start, its pruning and rewind, and the clock's restart where it asks."""
        ph = phases[pi]
        if self.pos == (pi, 0):
            if ph.gradient.prune_and_rewind:
                self.state.prune_and_rewind(self.cfg)
            if ph.log.reset_clock:  # the original counts LTH cost from retraining on
                self.account.restart_clock(f"{pi} earlier phase(s): {', '.join(p.name for p in phases[:pi])}")
        return self.state.hooks(ph, self.cfg, self.data.num_classes)

    def _epoch(self, ph: Phase, hooks: list[Hook], epoch: int) -> EpochResult:
        """One training epoch (its image count summed over the workers); errors say where and what to do."""
        with epoch_errors(f"{self.cfg.experiment}, {ph.name}, epoch {epoch}", self.paths.checkpoint, self.device,
                          self.cfg.batch_size, self.cfg.eval_batch_size):
            res = train_epoch(self.state.net, self.state.opt, self.data, ph.data.indices, self.cfg.batch_size,
                              self.state.gen, hooks, selector=self.state.selector(ph, self.rank, self.cfg.world_size),
                              forward=self.state.train_net)
            check_finite_weights(self.state.net)
        if self.rank is not None:
            res.samples = workers.total(res.samples, self.device)
        return res

    def log(self, msg: str):
        """A line on stderr unless ``progress=none``."""
        if self.cfg.progress != "none":
            print(msg, file=sys.stderr, flush=True)


def next_position(phases: list[Phase], pos: tuple[int, int], exec_flops: float) -> tuple[int, int]:
    """The (phase, epoch) position after the epoch just trained at ``pos``: the phase's next epoch, the next
    phase, or the end when the phase's FLOP budget is spent (no later phase starts)."""
    pi, ep = pos
    budget = phases[pi].budget_flops
    if budget is not None and exec_flops >= budget:
        return (len(phases), 0)
    return (pi, ep + 1) if ep + 1 < phases[pi].epochs else (pi + 1, 0)


def _worker(rank: int, world: int, cfg: Config, out_dir: str, data: CIFAR10 | None) -> None:
    """One data-parallel worker: joins the process group and runs the experiment with its rank."""
    workers.join(rank, world, resolve_device(cfg.device))
    Experiment(cfg, out_dir, data, rank=rank).run()


def prepare_curriculum(cfg: Config, out_dir: str | Path, data: CIFAR10 | None = None) -> Path:
    """Compute and cache the curriculum ``cfg``'s staged experiment uses in ``out_dir`` (skipped if cached), so
    that several experiments of one seed can then start at once; returns the cache file. Its cost is recorded
    in the cache and charged to each experiment that uses it, exactly as when the experiment computes it."""
    path = curriculum_path(cfg, out_dir)
    if path.exists():
        return path
    exp = Experiment(cfg, out_dir, data)
    exp.setup()
    cached_curriculum(cfg, exp.data, out_dir, exp.flops)
    return path


def run_experiment(cfg: Config, out_dir: str | Path, data: CIFAR10 | None = None, fresh: bool = False) -> Path:
    """Run one experiment (resuming or skipping as its results folder says); returns its CSV path."""
    return Experiment(cfg, out_dir, data).run(fresh=fresh)
