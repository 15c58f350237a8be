"""The four experiments as plans of phases over one training loop, resumable epoch by epoch.

An experiment is a list of ``Phase``s (a number of epochs on a subset of the training set, dense or
SEL-masked, logged to the CSV or not). ``Experiment.run`` executes the plan, writes one CSV row per
logged epoch and a checkpoint after every epoch; rerunning the same call continues from the last
checkpoint, and a finished experiment (``run.json`` status ``finished``) skips itself.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from . import checkpoint, comm, continual, execution, lottery, sel
from ..config import BASELINE_SCHEDULE, COMMUNICATION, CONTINUAL, Config, ConfigError
from .data import CIFAR10, DeviceData, load_cifar10
from .difficulty import order_agreement, trained_model_scores
from .flops import ExecutedFlops, ideal_sparse_flops, proxy_flops
from .curriculum import cached_curriculum, curriculum_path, load_curriculum, training_model  # noqa: F401 (re-exported)
from .models import count_params
from .selection import SelectiveBackprop, TopFraction
from ..paths import RunPaths, portable_path
from .results import COMM_COLUMNS, SIGNAL_EXPERIMENTS, columns, environment, read_json, write_csv, write_json
from .train import (Divergence, Hook, MaskHook, ResourceError, SELHook, UpdateDensityHook, check_finite_weights, evaluate,
                    make_optimizer, set_determinism, train_epoch)


@dataclass
class Phase:
    name: str
    epochs: int
    indices: torch.Tensor
    logged: bool = True
    stage: int | None = None        # value of the CSV's stage column (SEL runs)
    gamma: float | None = None      # guilt threshold (None: dense updates)
    sel_signals: bool = False       # log per-class E/C (and, with scale_lr, rescale the lr per step)
    scale_lr: bool = False          # SEL's lr = lr * (1 + 2 loss)
    setup: Callable[["Experiment"], None] | None = None  # once, when the phase starts
    reset_clock: bool = False       # time_s / flops_T start here (the original's LTH accounting)
    target_density: float | None = None  # the adaptive guilt threshold instead of ``gamma``
    class_weights: bool = False     # the loss weighted by the classes' embarrassment
    selector: str | None = None     # "sb" (Selective Backprop) or "topk" (its fixed-fraction variant)
    budget_flops: float | None = None  # the phase (and the run) ends once the executed FLOPs reach this
    task: int | None = None         # Split CIFAR-10: the task (1-based), logged in the CSV's task column
    random_gamma: float | None = None  # a random mask of the density SEL's threshold gamma would keep
    replay: torch.Tensor | None = None  # experience replay's memory (training indices) for this phase


CURRICULUM_FREE = ("baseline", "lottery", "random_windows", "dense_budget", "sb", "sb_topk", "adaptive_dense",
                   "classweight_dense", "split_dense", "split_replay")
"""Experiments whose plan needs no scorer's curriculum (``random_windows`` and ``dense_budget`` take only its
windows' sizes)."""
ADAPTIVE = ("adaptive", "adaptive_dense", "classweight", "classweight_dense")
"""Experiments whose guilt threshold is set each step from a target density (no calibration)."""
AFTER_BASELINE = ("oracle_order",)
"""Experiments that read the finished Baseline of their results folder."""


def requirements(experiment: str) -> set[str]:
    """What must exist in an experiment's results folder before it starts (what a scheduler orders jobs by):
    ``"curriculum"`` (the seed's cached curriculum) and/or ``"baseline"`` (the finished Baseline)."""
    need = set() if experiment in CURRICULUM_FREE else {"curriculum"}
    return need | ({"baseline"} if experiment in AFTER_BASELINE else set())


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"bad parameter device={name!r}: CUDA is not available here; use 'cpu' or 'auto'")
    return dev


class Experiment:
    """One experiment of ``cfg.experiment`` writing into ``out_dir``. A data-parallel experiment (``COMMUNICATION``)
    runs as ``cfg.world_size`` worker processes, each an ``Experiment`` with its ``rank``; worker 0 evaluates and
    writes every file."""

    def __init__(self, cfg: Config, out_dir: str | Path, data: CIFAR10 | None = None, rank: int | None = None):
        self.cfg = cfg
        self.rank = rank
        self.lead = rank in (None, 0)
        self.paths = RunPaths(Path(out_dir), cfg.experiment)
        self.device = resolve_device(cfg.device)
        self._raw = data
        self.data: DeviceData | None = None

    # ---------------------------------------------------------------- state
    def _setup_state(self):
        cfg = self.cfg
        set_determinism(cfg.deterministic)
        raw = self._raw if self._raw is not None else load_cifar10(cfg.data, cfg.data_cache)
        self.data = DeviceData(raw, self.device, cfg.train_per_class, cfg.held_out_per_class,
                               cfg.test_per_class)
        self.net = execution.to_memory_format(training_model(cfg, self.data.num_classes).to(self.device),
                                              cfg.channels_last)
        self.train_net = self.net  # what the loop trains: the network, or its DDP wrapper on a worker
        self.exchange = None
        if self.rank is not None:
            mode = {"ddp_dense": "dense", "ddp_sel": "sel", "ddp_topk": "topk"}[cfg.experiment]
            self.exchange = comm.GradientExchange(mode, list(self.net.parameters()), cfg.world_size)
            self.train_net = DistributedDataParallel(self.net, forward_sync_buffers=False)
            self.train_net.register_comm_hook(self.exchange, comm.GradientExchange.hook)
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
                  "skippable": 0.0}  # skippable: weight-gradient work of zeroed entries (ideal = exec - skippable)
        self.prior = {"exec_flops": 0.0, "samples": 0, "time_s": 0.0, "what": []}
        self.pos = (0, 0)  # (phase, epochs done in it)
        self.resumed = False
        self.selectors = {"sb": SelectiveBackprop(cfg.sb_beta, cfg.sb_history), "topk": TopFraction(cfg.sb_fraction)}
        self.grad_sample = None  # the adaptive threshold's fixed sample of gradient entries, made when first needed

    # ---------------------------------------------------------------- plans
    def plan(self) -> list[Phase]:
        cfg, n = self.cfg, len(self.data)
        everything = torch.arange(n, device=self.device)
        e = cfg.experiment
        if e in BASELINE_SCHEDULE:
            return self.baseline_schedule(everything)
        if e in CONTINUAL:
            return self.task_phases()
        if cfg.experiment == "lottery":
            self.initial_state = lottery.snapshot(self.net) if self.initial_state is None else self.initial_state
            return [Phase("pretrain", cfg.lth_pretrain_epochs, everything, logged=False),
                    Phase("retrain", cfg.num_epochs, everything, setup=Experiment._prune_and_rewind,
                          reset_clock=True)]
        if e in CURRICULUM_FREE:  # random_windows, dense_budget: the windows' sizes only, no scorer, no cost
            order, gamma0 = [torch.nonzero(self.data.train_y == c).flatten() for c in range(self.data.num_classes)], None
        else:
            charge = {"mask_only": ("calibration",), "adaptive": ("scoring",), "classweight": ("scoring",),
                      "ddp_dense": ("scoring",)}
            order, gamma0 = self.curriculum(charge.get(e, ("scoring", "calibration")))
        if e in AFTER_BASELINE:
            order = self.oracle_order()
        if e in ("mask_only", "random_windows"):
            windows = self.random_windows(order)
        else:
            windows = [sel.stage_indices(order, a, b, cfg.stage_cap) for a, b in cfg.stage_windows]
        if e == "dense_budget":
            return self.budget_phases(everything, sum(len(w) * k for w, k in zip(windows, cfg.stage_epochs)))
        masked = e in ("sel95", "warmup", "mask_only", "oracle_order", "calib_train_clean") + COMMUNICATION
        adaptive = e in ADAPTIVE
        stages = [Phase(f"stage{s + 1}", cfg.stage_epochs[s], w, stage=s + 1, sel_signals=True,
                        scale_lr=masked or adaptive,
                        gamma=sel.stage_gamma(gamma0, s, cfg.num_stages, cfg.gamma_decay) if masked else None,
                        target_density=cfg.target_density if adaptive else None,
                        class_weights=e.startswith("classweight"))
                  for s, w in enumerate(windows)]
        if e != "warmup":
            return stages
        warm = Phase("warmup", cfg.warmup_epochs, sel.easiest_indices(order, cfg.warmup_per_class), stage=0)
        return ([warm] if cfg.warmup_epochs else []) + stages

    def baseline_schedule(self, everything: torch.Tensor) -> list[Phase]:
        """Dense epochs over the whole training set: ``num_epochs`` of them, or with ``budget`` > 0 as many as it
        takes the executed FLOPs to reach ``budget`` x the Baseline's. Selective Backprop trains its first epoch on
        everything (as the paper), then selects; the adaptive variants mask and weight every epoch."""
        cfg, e = self.cfg, self.cfg.experiment
        budget = cfg.budget * cfg.num_epochs * self.flops.train_epoch(len(everything), cfg.batch_size) or None
        epochs = cfg.num_epochs
        if budget:  # an upper bound: the cheapest epoch is a selection pass that trains nothing
            cheapest = self.flops.forward_pass(len(everything), cfg.batch_size) if e in ("sb", "sb_topk") else \
                self.flops.train_epoch(len(everything), cfg.batch_size)
            epochs = int(budget // cheapest) + 1
        if e in ("sb", "sb_topk"):
            selector = "sb" if e == "sb" else "topk"
            return [Phase("train-all", 1, everything, budget_flops=budget),
                    Phase("selective", epochs - 1, everything, selector=selector, budget_flops=budget)][:1 + (epochs > 1)]
        adaptive = e in ADAPTIVE
        return [Phase("train", epochs, everything, budget_flops=budget, sel_signals=adaptive, scale_lr=adaptive,
                      target_density=cfg.target_density if adaptive else None,
                      class_weights=e == "classweight_dense")]

    def task_phases(self) -> list[Phase]:
        """Split CIFAR-10: one phase of ``task_epochs`` per task (``continual``); SEL's threshold for task t is
        ``stage_gamma(gamma0, t)`` (task t plays stage t), used by ``split_sel`` and ``split_random``."""
        cfg, e, y = self.cfg, self.cfg.experiment, self.data.train_y
        tasks = continual.task_classes(self.data.num_classes, cfg.classes_per_task)
        gamma0 = self.curriculum(("calibration",))[1] if e in ("split_sel", "split_random") else None
        phases = []
        for t, classes in enumerate(tasks):
            gamma = sel.stage_gamma(gamma0, t, len(tasks), cfg.gamma_decay) if gamma0 is not None else None
            phases.append(Phase(f"task{t + 1}", cfg.task_epochs, continual.task_indices(y, classes), task=t + 1,
                                gamma=gamma if e == "split_sel" else None, sel_signals=e == "split_sel",
                                random_gamma=gamma if e == "split_random" else None,
                                replay=continual.replay_memory(y, tasks[:t], cfg.replay_per_class, cfg.seed)
                                if e == "split_replay" else None))
        return phases

    def random_windows(self, order) -> list[torch.Tensor]:
        """Per stage, random images of each class in the numbers SEL's window takes (fresh draw per stage)."""
        g = torch.Generator().manual_seed(self.cfg.seed + 104729)
        out = []
        for a, b in self.cfg.stage_windows:
            sizes = [len(sel.stage_indices([o], a, b, self.cfg.stage_cap)) for o in order]
            out.append(torch.cat([o[torch.randperm(len(o), generator=g)[:k].to(o.device)]
                                  for o, k in zip(order, sizes)]))
        return out

    def budget_phases(self, everything: torch.Tensor, budget: int) -> list[Phase]:
        """Dense epochs over the whole training set until ``budget`` images are seen (the last epoch is a
        random subset of the remainder)."""
        full, rest = divmod(budget, len(everything))
        phases = [Phase("dense", full, everything)] if full else []
        if rest:
            g = torch.Generator().manual_seed(self.cfg.seed + 104729)
            phases.append(Phase("dense-partial", 1, everything[torch.randperm(len(everything), generator=g)[:rest].to(everything.device)]))
        return phases

    def oracle_order(self) -> list[torch.Tensor]:
        """Each class sorted easy -> hard by the finished Baseline's per-sample loss (same results folder).
        Its scoring pass goes to ``prior`` (the Baseline's own training is not counted), and so does how this
        order agrees with the scorer's (``difficulty.order_agreement``): the book reads it from the run.json."""
        scores, flops = trained_model_scores(self.paths.root, self.cfg, self.data, self.flops)
        scorer = cached_curriculum(self.cfg, self.data, self.paths.root)["scores"]
        self.prior["order_agreement"] = order_agreement(scorer, scores, self.data.train_y, self.data.classes)
        if self.resumed:  # the checkpoint's counters hold this pass already
            return sel.sort_by_difficulty(scores, self.data.train_y, self.data.num_classes)
        self.prior["what"].append("scoring the training set with the trained Baseline")
        self.prior["exec_flops"] += flops
        self.prior["samples"] += len(self.data)
        self.c["exec_flops"] += flops
        self.c["samples"] += len(self.data)
        return sel.sort_by_difficulty(scores, self.data.train_y, self.data.num_classes)

    def _prune_and_rewind(self):
        self.masks = lottery.global_magnitude_masks(self.net, self.cfg.prune_fraction, self.cfg.prune_scope)
        lottery.rewind(self.net, self.initial_state, self.masks, mask_now=self.cfg.rewind_masking == "at_rewind")
        self.opt = make_optimizer(self.net, self.cfg.lr, self.cfg.optimizer)

    def curriculum(self, charge: tuple = ("scoring", "calibration")):
        """The scorer's per-class easy-to-hard order and gamma0, computed once and cached in the results
        folder (shared by every staged experiment of the seed). The cost of the parts an experiment uses
        (``charge``) goes to ``prior``; the original counts it as free."""
        cur = cached_curriculum(self.cfg, self.data, self.paths.root, self.flops)
        if not self.resumed:  # a resumed run's counters hold these costs already
            for part in charge:
                cost = cur["cost"][part]
                self.prior["what"].append(cost["what"])
                for k in ("exec_flops", "samples", "time_s"):
                    self.prior[k] += cost[k]
                self.c["exec_flops"] += cost["exec_flops"]
                self.c["samples"] += cost["samples"]
            self.prior["gamma0"] = cur["gamma0"]
            self.prior["curriculum_rules"] = cur.get("rules")
        return [o.to(self.device) for o in cur["order"]], cur["gamma0"]

    # ---------------------------------------------------------------- checkpoints
    def _checkpoint(self):
        state = {"identity": self._identity(), "pos": list(self.pos), "net": self.net.state_dict(),
                 "opt": self.opt.state_dict(), "gen": self.gen.get_state(), "rng": checkpoint.pack_rng(self.device),
                 "masks": self.masks, "initial_state": self.initial_state, "rows": self.rows, "c": self.c,
                 "prior": self.prior, "selectors": {k: v.state_dict() for k, v in self.selectors.items()},
                 "mask_gen": self.mask_gen.get_state()}
        if self.exchange is not None:  # every worker's top-k residuals, gathered into worker 0's checkpoint
            states = [None] * self.cfg.world_size
            dist.all_gather_object(states, self.exchange.state_dict())
            state["comm"] = states
        if not self.lead:
            return
        p = self.paths.checkpoint
        try:
            checkpoint.save(p, state)
        except (OSError, RuntimeError) as e:
            raise ResourceError(f"could not save the checkpoint {p} ({e}); the previous checkpoint is kept, "
                                f"free disk space and rerun to resume") from None

    def _save_csv(self, cols):
        try:
            write_csv(self.paths.csv, cols, self.rows)
        except OSError as e:
            raise ResourceError(f"could not write {self.paths.csv} ({e}); the previous version is kept, free "
                                f"disk space and rerun to resume") from None

    def _identity(self) -> dict:
        return {**self.cfg.identity(), "data_source": self.data.source}

    def _restore(self) -> bool:
        p = self.paths.checkpoint
        st = checkpoint.load(p, map_location=self.device, log=self._log)
        if st is None:
            return False
        if Config.completed_identity(st.get("identity", {})) != self._identity():
            old, new = Config.completed_identity(st.get("identity", {})), self._identity()
            changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise ConfigError(f"{p} was written with other parameters ({', '.join(changed)}); "
                              f"rerun with fresh=True (--fresh) to start over")
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

    # ---------------------------------------------------------------- run
    def _write_run_json(self, status: str, extra: dict | None = None):
        if not self.lead:
            return
        config = {**self.cfg.to_dict(), "data": portable_path(self.cfg.data, Path.cwd())}  # no machine path
        info = {"experiment": self.cfg.experiment, "status": status, "config": config,
                "identity": self._identity() if self.data else None,
                "seed": self.cfg.seed, "data_source": self.data.source if self.data else self.cfg.data,
                "train_images": len(self.data) if self.data else None,
                "num_params": getattr(self, "num_params", None), "environment": environment(self.device),
                "prior_cost": self.prior if hasattr(self, "prior") else None,
                "workers": self.cfg.world_size if self.cfg.experiment in COMMUNICATION else 1,
                "epochs_logged": len(getattr(self, "rows", []))}
        if self.paths.run_json.exists():
            old = read_json(self.paths.run_json)
            info["started_utc"] = old.get("started_utc", info["environment"]["time_utc"])
        else:
            info["started_utc"] = info["environment"]["time_utc"]
        info.update(extra or {})
        write_json(self.paths.run_json, info)

    def is_finished(self) -> bool:
        """A finished run of the same parameters (data compared by source name) is in the folder."""
        p = self.paths.run_json
        if not (p.exists() and self.paths.csv.exists()):
            return False
        info = read_json(p)
        ident = info.get("identity") or {}
        return info.get("status") == "finished" and \
            Config.completed_identity({k: v for k, v in ident.items() if k != "data_source"}) == self.cfg.identity() and \
            ident.get("data_source") == (self._raw.source if self._raw is not None else _source_name(self.cfg.data))

    def run(self, fresh: bool = False) -> Path:
        """Run (or resume, or skip if finished) the experiment; returns the CSV path."""
        if self._finished_or_cleared(fresh):
            return self.paths.csv
        if self.cfg.experiment in COMMUNICATION and self.rank is None:
            return self._run_workers()
        self._setup_state()
        resumed = self.resumed = self._restore()
        phases = self.plan()
        total = sum(p.epochs for p in phases)
        done = sum(p.epochs for p in phases[:self.pos[0]]) + self.pos[1]  # epochs of the plan already done
        resumed_at = {"resumed": resumed, **({"resumed_at_epoch": done} if resumed else {})}
        self._write_run_json("running", resumed_at)
        cols = self._cols = columns(self.cfg.experiment, self.data.classes,
                                    self.data.num_classes // self.cfg.classes_per_task)
        bar = self._bar(total, done)
        clock = time.perf_counter() - self.c["time_s"]
        try:
            for pi in range(self.pos[0], len(phases)):
                ph = phases[pi]
                if self.pos == (pi, 0):
                    if ph.setup is not None:
                        ph.setup(self)
                    if ph.reset_clock:  # the original counts LTH cost from retraining on
                        self.prior.update(time_s=self.prior["time_s"] + time.perf_counter() - clock,
                                          exec_flops=self.c["exec_flops"], samples=self.c["samples"],
                                          what=self.prior["what"] + [f"{pi} earlier phase(s): {', '.join(p.name for p in phases[:pi])}"])
                        clock = time.perf_counter()
                hooks = self._hooks(ph)
                for ep in range(self.pos[1], ph.epochs):
                    res = self._epoch(ph, hooks, len(self.rows) + 1 if ph.logged else ep + 1)
                    res.samples = self._all_workers(res.samples)
                    self.c["samples"] += res.samples
                    train_flops = self.flops.train_epoch(res.samples, self.cfg.batch_size)
                    selection_flops = self.flops.forward_pass(res.forward_samples, self.cfg.batch_size)
                    self.c["exec_flops"] += train_flops + selection_flops
                    self.c["forward_samples"] = self.c.get("forward_samples", 0) + res.forward_samples
                    self.c["gamma"] = res.extra.get("gamma")
                    sparsity = res.extra.get("sparsity", 0.0)
                    self.c["skippable"] += train_flops - ideal_sparse_flops(
                        train_flops, self.flops.forward_pass(res.samples, self.cfg.batch_size), sparsity)
                    if ph.logged and self.lead:
                        self.c["flops"] += proxy_flops(self.num_params, res.samples, sparsity)
                        ev = evaluate(self.eval_net, self.data, self.cfg.eval_batch_size, keep_logits=ph.task is not None)
                        self.c["eval_flops"] += self.flops.forward_pass(len(self.data.test_y), self.cfg.eval_batch_size)
                        self.c["time_s"] = time.perf_counter() - clock
                        self.rows.append(self._row(ph, res, ev, sparsity))
                        self._save_csv(cols)
                    else:
                        self.c["time_s"] = time.perf_counter() - clock
                    spent = ph.budget_flops is not None and self.c["exec_flops"] >= ph.budget_flops
                    self.pos = (pi, ep + 1) if ep + 1 < ph.epochs and not spent else (pi + 1, 0)
                    if spent:  # the budget ends the run: no later phase starts
                        self.pos = (len(phases), 0)
                    self._checkpoint()
                    self._progress(bar, ph, res)
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
            for p in (self.paths.checkpoint, checkpoint.previous(self.paths.checkpoint), self.paths.run_json,
                      self.paths.csv):
                p.unlink(missing_ok=True)
            return False
        if self.is_finished():
            self._log(f"{self.cfg.experiment}: finished results exist in {self.paths.root}, skipping "
                      f"(--fresh, or fresh=True, reruns it)")
            return True
        return False

    def _run_workers(self) -> Path:
        """A data-parallel experiment: ``world_size`` worker processes (``comm.launch``), each running this
        experiment with its rank. The curriculum is prepared here first, so that the workers only read it."""
        prepare_curriculum(self.cfg, self.paths.root, self._raw)
        comm.launch(_worker, self.cfg.world_size, (self.cfg, str(self.paths.root), self._raw),
                    {e.__name__: e for e in (ConfigError, Divergence, ResourceError)})
        return self.paths.csv

    def _all_workers(self, count: int) -> int:
        """A per-worker count summed over the data-parallel workers (itself in one process)."""
        if self.rank is None:
            return count
        t = torch.tensor([count], device=self.device)
        dist.all_reduce(t)
        return int(t)

    def _epoch(self, ph: Phase, hooks: list[Hook], epoch: int):
        """One training epoch, with divergence and out-of-memory turned into one clear message."""
        where = f"{self.cfg.experiment}, {ph.name}, epoch {epoch}"
        if self.rank is not None:
            selector = comm.ShardedBatches(self.rank, self.cfg.world_size)
        elif ph.replay is not None:
            selector = continual.ReplayBatches(ph.replay)
        else:
            selector = self.selectors[ph.selector] if ph.selector else None
        try:
            res = train_epoch(self.net, self.opt, self.data, ph.indices, self.cfg.batch_size, self.gen, hooks,
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
        if ph.target_density is not None and self.grad_sample is None:
            self.grad_sample = sel.GradientSample(self.net, self.cfg.density_sample, self.cfg.seed)
        if self.exchange is not None:  # the gradient exchange masks (each worker its own gradient), not the hook
            self.exchange.gamma = ph.gamma
        if ph.sel_signals:
            hooks.append(SELHook(self.opt, self.cfg.lr, ph.gamma if self.exchange is None else None,
                                 self.data.num_classes, self.cfg.temperature,
                                 self.cfg.lr_loss_scale, scale_lr=ph.scale_lr, target_density=ph.target_density,
                                 sample=self.grad_sample, class_weights=ph.class_weights,
                                 loss_reduce=comm.mean_over_workers(self.exchange) if self.exchange else None))
        if ph.random_gamma is not None:
            hooks.append(continual.RandomMaskHook(ph.random_gamma, self.mask_gen))
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
        if ph.stage is not None:
            row["stage"] = ph.stage
        if ph.task is not None:
            row["task"] = ph.task
            tasks = continual.task_classes(self.data.num_classes, self.cfg.classes_per_task)
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
        if self.cfg.experiment in SIGNAL_EXPERIMENTS:
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
        last = self.rows[-1] if ph.logged and self.rows else None
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
    """One data-parallel worker: joins the process group (gloo on CPUs; NCCL, one GPU per worker) and runs."""
    dev = resolve_device(cfg.device)
    if dev.type == "cuda":
        if torch.cuda.device_count() < world:
            raise ConfigError(f"bad parameter world_size={world}: NCCL needs one GPU per worker and "
                              f"{torch.cuda.device_count()} is available; use device=cpu (gloo)")
        torch.cuda.set_device(rank)  # "auto"/"cuda" resolve to this worker's GPU
    dist.init_process_group(comm.backend(dev), rank=rank, world_size=world)
    Experiment(cfg, out_dir, data, rank=rank).run()


def _source_name(data: str) -> str:
    """The name a data source is recorded under (see ``CIFAR10.source``)."""
    return "torchvision CIFAR-10" if data == "torchvision" else Path(data).name


def prepare_curriculum(cfg: Config, out_dir: str | Path, data: CIFAR10 | None = None) -> Path:
    """Compute and cache the curriculum ``cfg``'s staged experiment uses in ``out_dir`` (skipped if cached), so
    that several experiments of one seed can then start at once; returns the cache file. Its cost is recorded
    in the cache and charged to each experiment that uses it, exactly as when the experiment computes it."""
    path = curriculum_path(cfg, out_dir)
    if path.exists():
        return path
    exp = Experiment(cfg, out_dir, data)
    exp._setup_state()
    cached_curriculum(cfg, exp.data, out_dir, exp.flops)
    return path


def run_experiment(cfg: Config, out_dir: str | Path, data: CIFAR10 | None = None, fresh: bool = False) -> Path:
    """Run one experiment (resuming or skipping as its results folder says); returns its CSV path."""
    return Experiment(cfg, out_dir, data).run(fresh=fresh)
