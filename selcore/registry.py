"""The experiments: one entry each, holding what the experiment is.

An entry (``ExperimentSpec``) names the experiment, its title and family, its pure plan function, what must exist
before it starts (``needs``), the curriculum costs it is charged (``charge``), its CSV column groups, the calibration
rules of its curriculum, the Config fields that concern it alone, whether a compute budget can stop it, its
data-parallel gradient exchange, and its labels in the equal-compute comparison. Nothing outside this module tests
an experiment's name (``tests/test_registry.py`` checks it): adding an experiment is one entry here plus its chapter.

A plan is data: ``spec.plan(inputs)`` turns a configuration, the training labels, the epoch costs and (where needed)
the curriculum and the trained Baseline's scores into ``Phase``s and the ``Charge``s made before training, with no
side effect. A phase says what it does through three typed parts: ``Data`` (what it trains on), ``Gradient`` (how
the gradient is treated before the optimizer step) and ``Logging`` (what it writes).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:  # the registry sits below config: it reads a Config's fields, it never builds one
    import torch

    from .config import Config


def schedules() -> ModuleType:
    """The plans' index arithmetic (``selcore.schedules``), imported when a plan is made rather than when the
    registry is read: it needs torch, and the configuration, the profiles and the command line's --help, which read
    the registry, must not (a second reading costs nothing)."""
    from . import schedules as module  # heavy (torch): see the docstring
    return module


# ----------------------------------------------------------------------------------------------------- phases
@dataclass(frozen=True)
class Data:
    """What a phase trains on: ``indices`` of the training set; ``selector`` ("sb": Selective Backprop, "topk": its
    fixed-fraction variant) picks which images of each batch are trained; ``replay`` is experience replay's memory
    (training indices) whose images join every batch."""
    indices: torch.Tensor
    selector: str | None = None
    replay: torch.Tensor | None = None


@dataclass(frozen=True)
class Gradient:
    """How a phase treats the gradient before the optimizer step: SEL's guilt threshold ``gamma`` (entries with
    |g| <= gamma zeroed) or the adaptive threshold that keeps ``target_density`` of the entries; ``random_gamma``: a
    random mask of the density ``gamma`` would keep; ``scale_lr``: SEL's lr = lr * (1 + 2 loss); ``class_weights``:
    the loss weighted by the classes' embarrassment; ``prune_and_rewind``: at the phase's start, prune by magnitude
    and rewind to the initial weights (the Lottery Ticket), the pruned entries' gradients masked from then on."""
    gamma: float | None = None
    target_density: float | None = None
    random_gamma: float | None = None
    scale_lr: bool = False
    class_weights: bool = False
    prune_and_rewind: bool = False


@dataclass(frozen=True)
class Logging:
    """What a phase writes: a CSV row per epoch (``logged``) with its ``stage`` or ``task`` column and, with
    ``signals``, SEL's per-class E and C; ``reset_clock``: the CSV's time and proxy FLOPs count from this phase on
    (the original's Lottery Ticket accounting), the earlier phases going to the run's prior cost."""
    logged: bool = True
    stage: int | None = None
    task: int | None = None
    signals: bool = False
    reset_clock: bool = False


@dataclass(frozen=True)
class Phase:
    """``epochs`` epochs of one kind; with ``budget_flops`` the phase (and the run) ends once the executed training
    FLOPs reach it."""
    name: str
    epochs: int
    data: Data
    gradient: Gradient = Gradient()
    log: Logging = Logging()
    budget_flops: float | None = None

    @property
    def sel_hook(self) -> bool:
        """Whether the phase needs SEL's hook: to measure E/C, or to mask, rescale or weight by them."""
        g = self.gradient
        return self.log.signals or g.gamma is not None or g.target_density is not None or g.scale_lr or \
            g.class_weights


@dataclass(frozen=True)
class Charge:
    """Work done before training that the run is charged for (the original counts it as free)."""
    what: str
    exec_flops: float
    samples: int
    time_s: float = 0.0


@dataclass(frozen=True)
class Plan:
    """An experiment's phases, the charges made before its first epoch, and what its run.json records of them
    (``info``: gamma0, the curriculum's rules, the trained order's agreement with the scorer's)."""
    phases: tuple[Phase, ...]
    charges: tuple[Charge, ...] = ()
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OracleScores:
    """The finished Baseline's per-sample training losses, what scoring them cost, and how its order agrees with
    the scorer's (``difficulty.order_agreement``)."""
    scores: torch.Tensor
    exec_flops: float
    agreement: Mapping[str, Any]


@dataclass(frozen=True)
class PlanInputs:
    """Everything a plan reads: the configuration, the training labels (on the run's device), the executed FLOPs of
    one dense epoch and of one forward pass over the whole training set, the seed's curriculum (``order`` per class
    on the device, ``gamma0``, ``cost``, ``rules``) where ``needs`` has "curriculum", the Baseline's scores where it
    has "baseline"."""
    cfg: "Config"
    train_y: torch.Tensor
    num_classes: int
    epoch_flops: float
    pass_flops: float
    curriculum: Mapping[str, Any] | None = None
    oracle: OracleScores | None = None

    @property
    def everything(self) -> torch.Tensor:
        return schedules().everything(self.train_y)


# ----------------------------------------------------------------------------------------------------- entries
@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    title: str
    family: str                 # original | ablation | extension | communication | continual
    doc: str
    planner: Callable[["ExperimentSpec", PlanInputs], Plan]
    needs: frozenset[str] = frozenset()   # "curriculum" (the seed's cached curriculum), "baseline" (its finished run)
    charge: tuple[str, ...] = ()          # the curriculum's costs charged to the run: "scoring", "calibration"
    columns: frozenset[str] = frozenset()  # CSV column groups: stage, task, signals, forward_samples, gamma, comm
    calibration: Mapping[str, Any] = field(default_factory=dict)  # Config overrides its curriculum is computed under
    fields: tuple[str, ...] = ()          # Config fields that change this experiment's results and no other's
    budgetable: bool = False              # trains on everything epoch after epoch: a compute ``budget`` can stop it
    exchange: str | None = None           # data-parallel gradient exchange: dense | sel | topk
    label: str | None = None              # its short name beside its family's others: the method it is a point of
    # (equal compute), what its exchange sends (data-parallel), its variant (Split CIFAR-10)
    schedule: str = "SEL's stage schedule"  # how the equal-compute comparison names its point without a budget
    compared_with: tuple[str, ...] = ()   # besides the Baseline, the runs its chapter compares it with
    limits: tuple[tuple[str, str], ...] = ()  # (field, bound): Config checks field <= bound (where bound > 0)

    def plan(self, inputs: PlanInputs) -> Plan:
        """The phases and charges of this experiment (pure: the same inputs give the same plan)."""
        missing = sorted(n for n, v in (("curriculum", inputs.curriculum), ("baseline", inputs.oracle))
                         if n in self.needs and v is None)
        if missing:
            raise ValueError(f"{self.name}'s plan needs {', '.join(missing)}")
        return self.planner(self, inputs)


def _curriculum_charges(spec: ExperimentSpec, cur: Mapping[str, Any]) -> tuple[tuple[Charge, ...], dict]:
    charges = tuple(Charge(cur["cost"][p]["what"], cur["cost"][p]["exec_flops"], cur["cost"][p]["samples"],
                           cur["cost"][p]["time_s"]) for p in spec.charge)
    return charges, {"gamma0": cur["gamma0"], "curriculum_rules": cur.get("rules")}


def _baseline_schedule(selector: str | None = None, adaptive: bool = False, class_weights: bool = False):
    """Dense epochs over the whole training set: ``num_epochs`` of them, or with ``budget`` > 0 as many as it takes
    the executed FLOPs to reach ``budget`` x the Baseline's. With a ``selector`` (Selective Backprop: "sb", "topk")
    the first epoch trains on everything (as the paper), then each batch is selected; ``adaptive``: the adaptive
    threshold masks every epoch (``class_weights``: and the loss is weighted by the classes' embarrassment)."""
    def plan(spec: ExperimentSpec, inp: PlanInputs) -> Plan:
        cfg, everything = inp.cfg, inp.everything
        budget = cfg.budget * cfg.num_epochs * inp.epoch_flops or None
        epochs = cfg.num_epochs
        if budget:  # an upper bound: the cheapest epoch is a selection pass that trains nothing
            epochs = int(budget // (inp.pass_flops if selector else inp.epoch_flops)) + 1
        if selector:
            phases = (Phase("train-all", 1, Data(everything), budget_flops=budget),
                      Phase("selective", epochs - 1, Data(everything, selector=selector), budget_flops=budget))
            return Plan(phases[:1 + (epochs > 1)])
        grad = Gradient(target_density=cfg.target_density, scale_lr=True, class_weights=class_weights) \
            if adaptive else Gradient()
        return Plan((Phase("train", epochs, Data(everything), grad, Logging(signals=adaptive), budget_flops=budget),))
    return plan


def _lottery(spec: ExperimentSpec, inp: PlanInputs) -> Plan:
    cfg, everything = inp.cfg, inp.everything
    return Plan((Phase("pretrain", cfg.lth_pretrain_epochs, Data(everything), log=Logging(logged=False)),
                 Phase("retrain", cfg.num_epochs, Data(everything), Gradient(prune_and_rewind=True),
                       Logging(reset_clock=True))))


def _staged(masked: bool = False, adaptive: bool = False, class_weights: bool = False, random: bool = False,
            warmup: bool = False, oracle: bool = False, dense: bool = False):
    """SEL's five stages over the scorer's windows (or, with ``random``, random images in the windows' numbers;
    with ``oracle``, windows of the trained Baseline's order), masked at the stage's threshold (``masked``) or at an
    adaptive one, after a warmup on the easiest images (``warmup``); ``dense``: the whole training set until the
    stages' number of images is seen."""
    def plan(spec: ExperimentSpec, inp: PlanInputs) -> Plan:
        cfg = inp.cfg
        charges, info, gamma0 = (), {}, None
        if inp.curriculum is not None:
            charges, info = _curriculum_charges(spec, inp.curriculum)
            order, gamma0 = list(inp.curriculum["order"]), inp.curriculum["gamma0"]
        else:  # the windows' sizes only: no scorer, no cost
            order = schedules().per_class_indices(inp.train_y, inp.num_classes)
        if oracle:
            order = schedules().sort_by_difficulty(inp.oracle.scores, inp.train_y, inp.num_classes)
            charges += (Charge("scoring the training set with the trained Baseline", inp.oracle.exec_flops,
                               len(inp.train_y)),)
            info = {**info, "order_agreement": inp.oracle.agreement}
        windows = schedules().random_windows(order, cfg.stage_windows, cfg.stage_cap, cfg.seed) if random else \
            [schedules().stage_indices(order, a, b, cfg.stage_cap) for a, b in cfg.stage_windows]
        if dense:
            images = sum(len(w) * k for w, k in zip(windows, cfg.stage_epochs))
            full, rest = schedules().budget_split(inp.everything, images, cfg.seed)
            phases = ((Phase("dense", full, Data(inp.everything)),) if full else ()) + \
                ((Phase("dense-partial", 1, Data(rest)),) if rest is not None else ())
            return Plan(phases, charges, info)
        phases = tuple(Phase(f"stage{s + 1}", cfg.stage_epochs[s], Data(w),
                             Gradient(gamma=schedules().stage_gamma(gamma0, s, cfg.num_stages, cfg.gamma_decay)
                                      if masked else None,
                                      target_density=cfg.target_density if adaptive else None,
                                      scale_lr=masked or adaptive, class_weights=class_weights),
                             Logging(stage=s + 1, signals=True))
                       for s, w in enumerate(windows))
        if warmup and cfg.warmup_epochs:
            phases = (Phase("warmup", cfg.warmup_epochs,
                            Data(schedules().easiest_indices(order, cfg.warmup_per_class)), log=Logging(stage=0)),) + phases
        return Plan(phases, charges, info)
    return plan


def _split(mask: str | None = None, replay: bool = False):
    """Split CIFAR-10: one phase of ``task_epochs`` per task; SEL's threshold for task t is
    ``stage_gamma(gamma0, t)`` (task t plays stage t), used as SEL's mask (``mask="sel"``) or as the density of a
    random one (``mask="random"``); ``replay``: experience replay's memory of the finished tasks."""
    def plan(spec: ExperimentSpec, inp: PlanInputs) -> Plan:
        cfg, y = inp.cfg, inp.train_y
        tasks = schedules().task_classes(inp.num_classes, cfg.classes_per_task)
        charges, info = _curriculum_charges(spec, inp.curriculum) if inp.curriculum is not None else ((), {})
        phases = []
        for t, classes in enumerate(tasks):
            gamma = schedules().stage_gamma(inp.curriculum["gamma0"], t, len(tasks), cfg.gamma_decay) if mask else None
            phases.append(Phase(f"task{t + 1}", cfg.task_epochs,
                                Data(schedules().task_indices(y, classes),
                                     replay=schedules().replay_memory(y, tasks[:t], cfg.replay_per_class, cfg.seed)
                                     if replay else None),
                                Gradient(gamma=gamma if mask == "sel" else None,
                                         random_gamma=gamma if mask == "random" else None),
                                Logging(task=t + 1, signals=mask == "sel")))
        return Plan(tuple(phases), charges, info)
    return plan


CURRICULUM = frozenset({"curriculum"})
BOTH = ("scoring", "calibration")
STAGED = frozenset({"stage", "signals"})
ADAPTIVE = frozenset({"stage", "signals", "gamma"})
DENSE_METHOD = "Dense (Baseline's schedule)"
COMM_FIELDS = ("world_size",)
SPLIT_FIELDS = ("classes_per_task", "task_epochs")

SPECS: tuple[ExperimentSpec, ...] = (
    # the four experiments, in the order the original runs them (also the CSV suffixes)
    ExperimentSpec("baseline", "Baseline CNN", "original", "dense training of the whole training set",
                   _baseline_schedule(), budgetable=True, label=DENSE_METHOD, schedule="full schedule"),
    ExperimentSpec("lottery", "Lottery Ticket", "original",
                   "pretraining, global magnitude pruning, rewind to the initial weights, retraining", _lottery),
    ExperimentSpec("sel95", "SEL-95%", "original", "SEL's five stages, masked at the calibrated threshold",
                   _staged(masked=True), CURRICULUM, BOTH, STAGED, label="SEL-95% (calibrated gamma)",
                   compared_with=("curriculum_only",)),
    ExperimentSpec("warmup", "Warmup+SEL", "original", "a dense warmup on each class's easiest images, then SEL-95",
                   _staged(masked=True, warmup=True), CURRICULUM, BOTH, STAGED, compared_with=("sel95",),
                   limits=(("warmup_per_class", "train_per_class"),)),
    # where do SEL's savings come from? each ablation sees exactly SEL-95's number of training images
    ExperimentSpec("curriculum_only", "Curriculum only", "ablation",
                   "SEL's stage windows, no gradient mask, no lr scaling", _staged(), CURRICULUM, BOTH, STAGED),
    ExperimentSpec("mask_only", "Mask only (random subsets)", "ablation",
                   "the mask and lr scaling on random subsets of the windows' sizes",
                   _staged(masked=True, random=True), CURRICULUM, ("calibration",), STAGED),
    ExperimentSpec("random_windows", "Random windows", "ablation",
                   "random subsets of the windows' sizes, no mask, no lr scaling (the data-budget control)",
                   _staged(random=True), columns=STAGED),
    ExperimentSpec("oracle_order", "Oracle order", "ablation",
                   "SEL-95 with its windows sorted by the finished Baseline's per-sample loss",
                   _staged(masked=True, oracle=True), frozenset({"curriculum", "baseline"}), BOTH, STAGED),
    ExperimentSpec("dense_budget", "Dense, SEL's budget", "ablation",
                   "the Baseline's dense training stopped after SEL-95's number of images", _staged(dense=True),
                   label=DENSE_METHOD, schedule="stopped at SEL-95's images"),
    ExperimentSpec("calib_train_clean", "SEL-95%, train-mode calibration on clean images", "ablation",
                   "SEL-95 with this project's earlier calibration rule (train-mode BatchNorm, clean images for "
                   "scoring and calibration) instead of the original code's (eval mode, augmented images): a "
                   "sensitivity check", _staged(masked=True), CURRICULUM, BOTH, STAGED,
                   calibration={"calibration_mode": "train", "score_augmented": False}),
    # what really saves compute, and SEL's own next step (the equal-compute chapter)
    ExperimentSpec("sb", "Selective Backprop", "extension",
                   "Selective Backprop (Jiang et al. 2019) on the Baseline's schedule", _baseline_schedule("sb"),
                   columns=frozenset({"forward_samples"}), budgetable=True, label="Selective Backprop"),
    ExperimentSpec("sb_topk", "Selective Backprop, top half", "extension",
                   "Selective Backprop's fixed-fraction variant (the highest-loss half of each batch)",
                   _baseline_schedule("topk"), columns=frozenset({"forward_samples"}), budgetable=True,
                   label="Selective Backprop, top half"),
    ExperimentSpec("adaptive", "SEL, adaptive gamma", "extension",
                   "SEL with a guilt threshold set each step so that a target fraction of gradient entries is kept, "
                   "at SEL-95's stage schedule", _staged(adaptive=True), CURRICULUM, ("scoring",), ADAPTIVE,
                   label="SEL, adaptive gamma"),
    ExperimentSpec("adaptive_dense", "Adaptive gamma, Baseline schedule", "extension",
                   "the adaptive threshold on the Baseline's schedule", _baseline_schedule(adaptive=True),
                   columns=frozenset({"signals", "gamma"}), budgetable=True, label="SEL, adaptive gamma",
                   schedule="Baseline's schedule"),
    ExperimentSpec("classweight", "SEL, class-weighted, adaptive gamma", "extension",
                   "the adaptive threshold plus a loss weighted by the classes' embarrassment, at SEL-95's stage "
                   "schedule", _staged(adaptive=True, class_weights=True), CURRICULUM, ("scoring",), ADAPTIVE,
                   label="SEL, class-weighted + adaptive gamma"),
    ExperimentSpec("classweight_dense", "Class-weighted, adaptive gamma, Baseline schedule", "extension",
                   "the class-weighted adaptive threshold on the Baseline's schedule",
                   _baseline_schedule(adaptive=True, class_weights=True),
                   columns=frozenset({"signals", "gamma"}), budgetable=True,
                   label="SEL, class-weighted + adaptive gamma", schedule="Baseline's schedule"),
    # data-parallel SEL-95 (world_size processes, torch.distributed DDP): what its gradient exchange sends
    ExperimentSpec("ddp_dense", "Data-parallel, dense all-reduce", "communication",
                   "the dense gradient", _staged(masked=True), CURRICULUM, ("scoring",),
                   frozenset({"stage", "comm"}), fields=COMM_FIELDS, exchange="dense", label="dense all-reduce"),
    ExperimentSpec("ddp_sel", "Data-parallel, SEL's kept entries", "communication",
                   "only the entries SEL's guilt threshold keeps on each worker", _staged(masked=True), CURRICULUM,
                   BOTH, frozenset({"stage", "comm"}), fields=COMM_FIELDS, exchange="sel", label="SEL's kept entries"),
    ExperimentSpec("ddp_topk", "Data-parallel, top-k with error feedback", "communication",
                   "top-k with error feedback at SEL's density", _staged(masked=True), CURRICULUM, BOTH,
                   frozenset({"stage", "comm"}), fields=COMM_FIELDS, exchange="topk", label="top-k + error feedback"),
    # Split CIFAR-10: tasks of classes_per_task classes in sequence
    ExperimentSpec("split_dense", "Split CIFAR-10, dense", "continual", "dense", _split(),
                   columns=frozenset({"task"}), fields=SPLIT_FIELDS, label="dense"),
    ExperimentSpec("split_sel", "Split CIFAR-10, SEL's mask", "continual", "SEL's mask at its calibrated threshold",
                   _split(mask="sel"), CURRICULUM, ("calibration",), frozenset({"task"}), fields=SPLIT_FIELDS,
                   label="SEL's mask"),
    ExperimentSpec("split_random", "Split CIFAR-10, random mask (SEL's density)", "continual",
                   "a random mask of SEL's density", _split(mask="random"), CURRICULUM, ("calibration",),
                   frozenset({"task"}), fields=SPLIT_FIELDS, label="random mask, SEL's density"),
    ExperimentSpec("split_replay", "Split CIFAR-10, experience replay", "continual",
                   "experience replay with a small memory (the standard reference)", _split(replay=True),
                   columns=frozenset({"task"}), fields=SPLIT_FIELDS + ("replay_per_class",),
                   label="experience replay"),
)
"""Every experiment, in the order the book lists them: the original's four, the ablations, the extensions, the
data-parallel and the Split CIFAR-10 experiments."""

REGISTRY: dict[str, ExperimentSpec] = {s.name: s for s in SPECS}
BASELINE = SPECS[0].name
"""The experiment whose finished run an entry that ``needs`` "baseline" reads (its results folder's)."""
FAMILIES = ("original", "ablation", "extension", "communication", "continual")


def spec(name: str) -> ExperimentSpec:
    """The entry of experiment ``name`` (KeyError for an unknown one; ``Config`` reports a bad name first)."""
    return REGISTRY[name]


def names(family: str | None = None, **where: Any) -> tuple[str, ...]:
    """The experiments (of ``family``, and whose entry's fields equal ``where``'s values), in registry order."""
    return tuple(s.name for s in SPECS if (family is None or s.family == family)
                 and all(getattr(s, k) == v for k, v in where.items()))


def field_owners() -> dict[str, tuple[str, ...]]:
    """Each Config field that concerns some experiments only (their entries' ``fields``) -> those experiments."""
    owned = dict.fromkeys(f for s in SPECS for f in s.fields)
    return {f: tuple(s.name for s in SPECS if f in s.fields) for f in owned}
