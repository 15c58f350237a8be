"""An experiment run: its registry entry's plan executed over one training loop, resumable epoch by epoch.

``Experiment.run`` sets up the data, the network and its optimizer, asks the registry entry for its plan (phases and
the charges made before training, ``registry.Plan``), runs the phases' epochs with the hooks each phase's typed parts
call for, and writes one CSV row per logged epoch and a checkpoint after every epoch (``record.RunRecord``).
Rerunning the same call continues from the last checkpoint; a finished experiment skips itself. An experiment
with a gradient exchange runs as data-parallel workers (``workers``).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm  # the console bar on stderr (tqdm.auto warns in a kernel without ipywidgets)

from . import checkpoint, comm, continual, execution, lottery, sel, workers
from .. import progress, schedules
from ..config import Config, ConfigError
from ..registry import Phase, Plan, PlanInputs, OracleScores, spec
from .curriculum import cached_curriculum, curriculum_path, training_model
from .data import CIFAR10, DeviceData, load_cifar10
from .difficulty import order_agreement, trained_model_scores
from .flops import ExecutedFlops, ideal_pruned_flops, ideal_sparse_flops, proxy_flops
from .models import count_params, require_weights
from .record import RunRecord, source_name
from .results import COMM_COLUMNS, columns, dirty_warning
from .selection import SelectiveBackprop, TopFraction
from .train import (Divergence, Hook, MaskHook, ResourceError, SELHook, UpdateDensityHook, check_finite_weights, evaluate,
                    make_optimizer, set_determinism, train_epoch)


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
        self.cfg = cfg
        self.spec = spec(cfg.experiment)
        self.rank = rank
        self.lead = rank in (None, 0)
        self.record = RunRecord(cfg, Path(out_dir), self.lead, self._log)
        self.paths = self.record.paths
        self.device = resolve_device(cfg.device)
        self._raw = data
        self.data: DeviceData | None = None

    @property
    def source(self) -> str:
        """The data source's recorded name."""
        return self.data.source if self.data else self._raw.source if self._raw is not None else \
            source_name(self.cfg.data)

    # ---------------------------------------------------------------- state
    def setup(self):
        """Data on the device, the network (and, on a worker, its DDP wrapper), optimizer, generators, counters."""
        cfg = self.cfg
        set_determinism(cfg.deterministic)
        raw = self._raw if self._raw is not None else load_cifar10(cfg.data, cfg.data_cache)
        self.data = DeviceData(raw, self.device, cfg.train_per_class, cfg.held_out_per_class,
                               cfg.test_per_class)
        require_weights(cfg.pretrained, cfg.weights_file)  # the data's errors first, then the weights', then the work
        self.net = execution.to_memory_format(training_model(cfg, self.data.num_classes).to(self.device),
                                              cfg.channels_last)
        self.train_net = self.net  # what the loop trains: the network, or its DDP wrapper on a worker
        self.exchange = None
        if self.rank is not None:
            self.exchange, self.train_net = workers.wrap(self.net, self.spec.exchange, cfg.world_size)
        # what the loop and the evaluation call (cfg.engine, cfg.channels_last); self.net keeps the state
        self.train_net = execution.prepare(self.train_net, cfg.engine, cfg.channels_last, cfg.data_cache)
        self.eval_net = self.train_net if self.rank is None else \
            execution.prepare(self.net, cfg.engine, cfg.channels_last, cfg.data_cache)
        self.num_params = count_params(self.net)
        self.flops = ExecutedFlops(self.net)
        self.opt = make_optimizer(self.net, cfg.lr, cfg.optimizer)
        self.gen = torch.Generator(device=self.device)
        self.gen.manual_seed(cfg.seed)
        self.mask_gen = torch.Generator(device=self.device)  # the random-mask control's draws, apart from the data's
        self.mask_gen.manual_seed(cfg.seed + 15485863)
        self.masks: dict[str, torch.Tensor] = {}
        self.initial_state = None
        self.rows: list[dict] = []
        self.c = {"flops": 0.0, "exec_flops": 0.0, "samples": 0, "time_s": 0.0, "eval_flops": 0.0,
                  "skippable": 0.0}  # skippable: work of zeroed entries (ideal = exec - skippable)
        self.prior = {"exec_flops": 0.0, "samples": 0, "time_s": 0.0, "what": []}
        self.pos = (0, 0)  # (phase, epochs done in it)
        self.resumed = False
        self.selectors = {"sb": SelectiveBackprop(cfg.sb_beta, cfg.sb_history), "topk": TopFraction(cfg.sb_fraction)}
        self.grad_sample = None  # the adaptive threshold's fixed sample of gradient entries, made when first needed

    # ---------------------------------------------------------------- plans
    def plan_inputs(self) -> PlanInputs:
        """What the registry entry's plan reads: labels, epoch costs, and what the entry ``needs``."""
        n, bs = len(self.data), self.cfg.batch_size
        cur = oracle = None
        if "curriculum" in self.spec.needs:
            cur = cached_curriculum(self.cfg, self.data, self.paths.root, self.flops)
            cur = {**cur, "order": [o.to(self.device) for o in cur["order"]]}
        if "baseline" in self.spec.needs:
            scores, flops = trained_model_scores(self.paths.root, self.cfg, self.data, self.flops)
            agreement = order_agreement(cur["scores"], scores, self.data.train_y, self.data.classes)
            oracle = OracleScores(scores, flops, agreement)
        return PlanInputs(self.cfg, self.data.train_y, self.data.num_classes, self.flops.train_epoch(n, bs),
                          self.flops.forward_pass(n, bs), cur, oracle)

    def plan(self) -> list[Phase]:
        """The entry's phases. A new run is charged the plan's charges (a resumed run's counters hold them) and,
        when a phase prunes and rewinds, keeps the initial weights."""
        plan: Plan = self.spec.plan(self.plan_inputs())
        if not self.resumed:
            for ch in plan.charges:
                self.prior["what"].append(ch.what)
                self.prior["exec_flops"] += ch.exec_flops
                self.prior["samples"] += ch.samples
                self.prior["time_s"] += ch.time_s
                self.c["exec_flops"] += ch.exec_flops
                self.c["samples"] += ch.samples
            self.prior.update(plan.info)
        if self.initial_state is None and any(p.gradient.prune_and_rewind for p in plan.phases):
            self.initial_state = lottery.snapshot(self.net)
        return list(plan.phases)

    def _prune_and_rewind(self):
        self.masks = lottery.global_magnitude_masks(self.net, self.cfg.prune_fraction, self.cfg.prune_scope)
        lottery.rewind(self.net, self.initial_state, self.masks, mask_now=self.cfg.rewind_masking == "at_rewind")
        self.opt = make_optimizer(self.net, self.cfg.lr, self.cfg.optimizer)

    # ---------------------------------------------------------------- checkpoints
    def _checkpoint(self):
        state = {"identity": self.record.identity(self.source), "pos": list(self.pos), "net": self.net.state_dict(),
                 "opt": self.opt.state_dict(), "gen": self.gen.get_state(), "rng": checkpoint.pack_rng(self.device),
                 "masks": self.masks, "initial_state": self.initial_state, "rows": self.rows, "c": self.c,
                 "prior": self.prior, "selectors": {k: v.state_dict() for k, v in self.selectors.items()},
                 "mask_gen": self.mask_gen.get_state()}
        if self.exchange is not None:  # every worker's top-k residuals, gathered into worker 0's checkpoint
            state["comm"] = workers.gather_states(self.exchange, self.cfg.world_size)
        self.record.save_checkpoint(state)

    def _restore(self) -> bool:
        st = self.record.load_checkpoint(self.source, self.device)
        if st is None:
            return False
        self.net.load_state_dict(st["net"])
        self.opt = make_optimizer(self.net, self.cfg.lr, self.cfg.optimizer)
        self.opt.load_state_dict(st["opt"])
        self.gen.set_state(st["gen"].cpu())
        checkpoint.unpack_rng(st["rng"])
        self.masks, self.initial_state = st["masks"], st["initial_state"]
        self.rows, self.c, self.prior, self.pos = st["rows"], st["c"], st["prior"], tuple(st["pos"])
        for k, v in st.get("selectors", {}).items():
            self.selectors[k].load_state_dict(v)
        if "mask_gen" in st:
            self.mask_gen.set_state(st["mask_gen"].cpu())
        if self.exchange is not None:
            self.exchange.load_state_dict(st["comm"][self.rank])
        return True

    def _write_run_json(self, status: str, extra: dict | None = None):
        fields = {"identity": self.record.identity(self.source) if self.data else None, "seed": self.cfg.seed,
                  "data_source": self.data.source if self.data else self.cfg.data,
                  "train_images": len(self.data) if self.data else None,
                  "num_params": getattr(self, "num_params", None),
                  "prior_cost": self.prior if hasattr(self, "prior") else None,
                  "workers": self.cfg.world_size if self.spec.exchange else 1,
                  "epochs_logged": len(getattr(self, "rows", []))}
        self.record.write_run_json(status, fields, self.device, extra)

    def is_finished(self) -> bool:
        """A finished run of the same parameters (data compared by source name) is in the folder."""
        return self.record.is_finished(self.source)

    # ---------------------------------------------------------------- run
    def run(self, fresh: bool = False) -> Path:
        """Run (or resume, or skip if finished) the experiment; returns the CSV path."""
        if self._finished_or_cleared(fresh):
            return self.paths.csv
        if self.spec.exchange and self.rank is None:
            prepare_curriculum(self.cfg, self.paths.root, self._raw)  # the workers only read it
            workers.launch(_worker, self.cfg, (self.cfg, str(self.paths.root), self._raw))
            return self.paths.csv
        self.setup()
        resumed = self.resumed = self._restore()
        phases = self.plan()
        total = sum(p.epochs for p in phases)
        done = sum(p.epochs for p in phases[:self.pos[0]]) + self.pos[1]  # epochs of the plan already done
        resumed_at = {"resumed": resumed, **({"resumed_at_epoch": done} if resumed else {})}
        self._write_run_json("running", resumed_at)
        if self.lead and (dirty := dirty_warning()):  # once per run, whatever progress says (the launcher of
            print(dirty, file=sys.stderr, flush=True)  # data-parallel workers writes nothing, their worker 0 does)
        cols = self._cols = columns(self.cfg.experiment, self.data.classes,
                                    self.data.num_classes // self.cfg.classes_per_task)
        bar = self._bar(total, done)
        run_id = f"{self.paths.root}/{self.cfg.experiment}"
        if self.lead:
            progress.run_started(run_id, total, done)
        clock = time.perf_counter() - self.c["time_s"]
        try:
            for pi in range(self.pos[0], len(phases)):
                ph = phases[pi]
                if self.pos == (pi, 0):
                    if ph.gradient.prune_and_rewind:
                        self._prune_and_rewind()
                    if ph.log.reset_clock:  # the original counts LTH cost from retraining on
                        self.prior.update(time_s=self.prior["time_s"] + time.perf_counter() - clock,
                                          exec_flops=self.c["exec_flops"], samples=self.c["samples"],
                                          what=self.prior["what"] + [f"{pi} earlier phase(s): {', '.join(p.name for p in phases[:pi])}"])
                        clock = time.perf_counter()
                hooks = self._hooks(ph)
                for ep in range(self.pos[1], ph.epochs):
                    started = time.perf_counter()
                    res = self._epoch(ph, hooks, len(self.rows) + 1 if ph.log.logged else ep + 1)
                    res.samples = self._all_workers(res.samples)
                    self.c["samples"] += res.samples
                    train_flops = self.flops.train_epoch(res.samples, self.cfg.batch_size)
                    selection_flops = self.flops.forward_pass(res.forward_samples, self.cfg.batch_size)
                    self.c["exec_flops"] += train_flops + selection_flops
                    self.c["forward_samples"] = self.c.get("forward_samples", 0) + res.forward_samples
                    self.c["gamma"] = res.extra.get("gamma")
                    sparsity = res.extra.get("sparsity", 0.0)
                    ideal = ideal_pruned_flops if self.masks else ideal_sparse_flops  # pruned: all three products
                    self.c["skippable"] += train_flops - ideal(
                        train_flops, self.flops.forward_pass(res.samples, self.cfg.batch_size), sparsity)
                    if ph.log.logged and self.lead:
                        self.c["flops"] += proxy_flops(self.num_params, res.samples, sparsity)
                        ev = evaluate(self.eval_net, self.data, self.cfg.eval_batch_size,
                                      keep_logits=ph.log.task is not None)
                        self.c["eval_flops"] += self.flops.forward_pass(len(self.data.test_y), self.cfg.eval_batch_size)
                        self.c["time_s"] = time.perf_counter() - clock
                        self.rows.append(self._row(ph, res, ev, sparsity))
                        self.record.save_csv(cols, self.rows)
                    else:
                        self.c["time_s"] = time.perf_counter() - clock
                    spent = ph.budget_flops is not None and self.c["exec_flops"] >= ph.budget_flops
                    self.pos = (pi, ep + 1) if ep + 1 < ph.epochs and not spent else (pi + 1, 0)
                    if spent:  # the budget ends the run: no later phase starts
                        self.pos = (len(phases), 0)
                    self._checkpoint()
                    self._progress(bar, ph, res)
                    if self.lead:
                        progress.epoch_done(run_id, time.perf_counter() - started)
                    if spent:
                        break
                if self.pos[0] >= len(phases):
                    break
                self.pos = (pi + 1, 0)
        except BaseException as e:
            stopped = isinstance(e, (KeyboardInterrupt, SystemExit))  # Ctrl-C, a scheduler's preemption/requeue
            self._write_run_json("interrupted" if stopped else "failed",
                                 {"error": f"{type(e).__name__}: {e}"})
            raise
        finally:
            if bar is not None:
                bar.close()
        self._write_run_json("finished", resumed_at)
        return self.paths.csv

    def _finished_or_cleared(self, fresh: bool) -> bool:
        """``fresh``: delete the run's files (and go on); else True if a finished run is there (said once)."""
        if fresh:
            self.record.clear()
            return False
        if self.is_finished():
            self._log(f"{self.cfg.experiment}: finished results exist in {self.paths.root}, skipping "
                      f"(--fresh, or fresh=True, reruns it)")
            return True
        return False

    def _all_workers(self, count: int) -> int:
        """A per-worker count summed over the data-parallel workers (itself in one process)."""
        return count if self.rank is None else workers.total(count, self.device)

    def _epoch(self, ph: Phase, hooks: list[Hook], epoch: int):
        """One training epoch, with divergence and out-of-memory turned into one clear message."""
        where = f"{self.cfg.experiment}, {ph.name}, epoch {epoch}"
        if self.rank is not None:
            selector = comm.ShardedBatches(self.rank, self.cfg.world_size)
        elif ph.data.replay is not None:
            selector = continual.ReplayBatches(ph.data.replay)
        else:
            selector = self.selectors[ph.data.selector] if ph.data.selector else None
        try:
            res = train_epoch(self.net, self.opt, self.data, ph.data.indices, self.cfg.batch_size, self.gen, hooks,
                              selector=selector, forward=self.train_net)
            check_finite_weights(self.net)
            return res
        except Divergence as e:
            raise Divergence(f"{where}: {e}; the checkpoint of the last finished epoch is kept "
                             f"({self.paths.checkpoint})") from None
        except torch.OutOfMemoryError:
            raise ResourceError(f"{where}: out of memory on {self.device} with batch_size={self.cfg.batch_size} "
                                f"(eval_batch_size={self.cfg.eval_batch_size}); rerun with a smaller one, "
                                f"e.g. --set batch_size={max(1, self.cfg.batch_size // 2)}") from None

    def _hooks(self, ph: Phase) -> list[Hook]:
        hooks: list[Hook] = []
        g = ph.gradient
        if g.target_density is not None and self.grad_sample is None:
            self.grad_sample = sel.GradientSample(self.net, self.cfg.density_sample, self.cfg.seed)
        if self.exchange is not None:  # the gradient exchange masks (each worker its own gradient), not the hook
            self.exchange.gamma = g.gamma
        if ph.sel_hook:
            hooks.append(SELHook(self.opt, self.cfg.lr, g.gamma if self.exchange is None else None,
                                 self.data.num_classes, self.cfg.temperature,
                                 self.cfg.lr_loss_scale, scale_lr=g.scale_lr, target_density=g.target_density,
                                 sample=self.grad_sample, class_weights=g.class_weights,
                                 loss_reduce=comm.mean_over_workers(self.exchange) if self.exchange else None))
        if g.random_gamma is not None:
            hooks.append(continual.RandomMaskHook(g.random_gamma, self.mask_gen))
        if self.exchange is not None:
            hooks.append(comm.CommHook(self.exchange))
        if self.masks:
            hooks.append(MaskHook(self.masks))
        return hooks + [UpdateDensityHook(self.net)]  # last: it sees the weights after every other hook

    def _row(self, ph: Phase, res, ev: dict, sparsity) -> dict:
        row = {"epoch": len(self.rows) + 1, "train_acc": res.train_acc, "train_loss": res.train_loss,
               "test_full": ev["test_full"], "test_100": ev["test_100"], "flops_T": self.c["flops"] / 1e12,
               "time_s": self.c["time_s"], "sparsity": sparsity,
               "exec_flops_T": self.c["exec_flops"] / 1e12, "samples_seen": self.c["samples"],
               "exec_eval_flops_T": self.c["eval_flops"] / 1e12, "ideal_flops_T": (self.c["exec_flops"] - self.c["skippable"]) / 1e12,
               "update_density": res.extra["update_density"]}
        if ph.log.stage is not None:
            row["stage"] = ph.log.stage
        if ph.log.task is not None:
            row["task"] = ph.log.task
            tasks = schedules.task_classes(self.data.num_classes, self.cfg.classes_per_task)
            cil, til = continual.task_accuracies(ev["logits"], self.data.test_y, tasks)
            for t, (a, b) in enumerate(zip(cil, til), start=1):
                row[f"cil_task{t}"], row[f"til_task{t}"] = a, b
        for k in COMM_COLUMNS:
            if k in self._cols:
                row[k] = res.extra[k]
        for name, a in zip(self.data.classes, ev["per_class"]):
            row[f"acc_{name}"] = a
        if "forward_samples" in self._cols:
            row["forward_samples"] = self.c.get("forward_samples", 0)
        if "gamma" in self._cols:
            row["gamma"] = self.c.get("gamma")
        if "signals" in self.spec.columns:
            k = self.data.num_classes
            E, C = res.extra.get("E", [0.0] * k), res.extra.get("C", [0.0] * k)
            for name, e, c in zip(self.data.classes, E, C):
                row[f"E_{name}"], row[f"C_{name}"] = e, c
        return row

    # ---------------------------------------------------------------- progress
    def _log(self, msg: str):
        if self.cfg.progress != "none":
            print(msg, file=sys.stderr, flush=True)

    def _bar(self, total: int, done: int):
        if self.cfg.progress != "bar" or not self.lead:
            return None
        return tqdm(total=total, initial=done, desc=self.cfg.experiment, unit="epoch", file=sys.stderr,
                    dynamic_ncols=True)

    def _progress(self, bar, ph: Phase, res):
        last = self.rows[-1] if ph.log.logged and self.rows else None
        info = {"phase": ph.name, "loss": f"{res.train_loss:.3f}", "acc": f"{res.train_acc:.1f}"}
        if last:
            info["test"] = f"{last['test_full']:.1f}"
        if bar is not None:
            bar.set_postfix(info)
            bar.update(1)
        elif self.cfg.progress == "log" and self.lead:
            self._log(f"[{self.cfg.experiment}] " + " ".join(f"{k}={v}" for k, v in info.items()) +
                      f" time={self.c['time_s']:.0f}s")


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
