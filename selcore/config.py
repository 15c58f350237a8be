"""Hyperparameters: one frozen, typed dataclass whose defaults are the original protocol.

Every field carries its help text in ``metadata["help"]``; ``Config.help()`` prints them.
Overrides arrive as ``key=value`` strings (command line, papermill) and are coerced to the
field's type; any bad value is reported in one line naming the parameter and what is allowed,
before any work is done.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from . import registry

EXPERIMENTS = registry.names("original")
"""The four experiments, in the order the original runs them (also the CSV suffixes)."""
ABLATIONS = registry.names("ablation")
"""Where do SEL's savings come from? Each ablation sees exactly SEL-95's number of training images (each one's
``registry`` entry says what it changes)."""
EXTENSIONS = registry.names("extension")
"""What really saves compute, and SEL's own next step (the equal-compute chapter)."""
COMMUNICATION = registry.names("communication")
"""Data-parallel SEL-95 (``world_size`` processes): what the gradient exchange sends."""
CONTINUAL = registry.names("continual")
"""Split CIFAR-10 (tasks of ``classes_per_task`` classes in sequence)."""
BASELINE_SCHEDULE = registry.names(budgetable=True)
"""Experiments that train on the whole training set epoch after epoch: the ones a compute ``budget`` can stop."""
ALL_EXPERIMENTS = registry.names()
EXPERIMENT_TITLES = {s.name: s.title for s in registry.SPECS}

ENGINES = ("eager", "compile")
"""How the training step executes (``Config.engine``)."""

PAPER_STAGES = ((0.00, 0.25), (0.20, 0.50), (0.40, 0.65), (0.60, 0.82), (0.78, 1.00))


class ConfigError(ValueError):
    """A bad parameter: the message is one line naming the parameter and the allowed values."""


def did_you_mean(names: Iterable[str], choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)': for each of ``names`` the closest of ``choices`` (difflib's ratio >= 0.6), or '' when
    none is close; what every unknown-name error appends after the name."""
    choices = list(choices)
    close = [m for n in names for m in difflib.get_close_matches(n, choices, n=1)]
    return f" (did you mean {', '.join(map(repr, close))}?)" if close else ""


def _f(default, help: str, **kw):
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: default, metadata={"help": help, **kw})
    return field(default=default, metadata={"help": help, **kw})


EXPERIMENT_HELP = "; ".join(f"{family}: {', '.join(registry.names(family))}" for family in registry.FAMILIES)
"""Every experiment by family, from the registry (the ``experiment`` field's help)."""


@dataclass(frozen=True)
class Config:
    """All tunable values of one experiment run. Defaults reproduce the original SEL protocol."""

    experiment: str = _f(registry.BASELINE, "which experiment: " + EXPERIMENT_HELP)
    # --- data -------------------------------------------------------------------------------
    data: str = _f("torchvision", "CIFAR-10 source: 'torchvision' (download) or a path to an "
                   "image-folder tree train/<class>/*, test/<class>/* or a .tar/.tar.gz of one")
    data_cache: str = _f("", "folder for the decoded uint8 tensor cache ('' = $SELCORE_CACHE or "
                         "~/.cache/selcore)")
    train_per_class: int = _f(0, "use only the first n training images of each class (0 = all 5,000)")
    test_per_class: int = _f(0, "evaluate on the first n test images of each class only (0 = the full "
                             "10,000; reduced profiles only)")
    held_out_per_class: int = _f(100, "held-out set: the first n test images of each class")
    # --- model ------------------------------------------------------------------------------
    width: int = _f(64, "channels of the first ResNet-18 stage (64 = the paper; stages are w, 2w, 4w, 8w)")
    pretrained: bool = _f(False, "start the scorer and every model from torchvision's ImageNet ResNet-18 "
                          "weights (IMAGENET1K_V1), conv1 and fc fresh, as the original code does (the paper "
                          "profile); needs width 64 and the weights: torch's hub cache (TORCH_HOME/hub/checkpoints, "
                          "downloaded where online) or weights_file")
    weights_file: str = _f("", "a file holding torchvision's IMAGENET1K_V1 resnet18 state dict "
                           "(resnet18-f37072fd.pth), read instead of torch's hub cache when pretrained is true; "
                           "or a stand-in's state dict of the run's width (python -m selcore standin)")
    conv1_init: str = _f("default", "the 3x3 stem conv1's initialisation: 'default' (nn.Conv2d's own, "
                         "kaiming-uniform a=sqrt(5): the original code replaces conv1 after torchvision's init) "
                         "or 'kaiming' (torchvision's kaiming-normal fan_out, as every other conv)")
    scorer: str = _f("separate", "which network scores and calibrates: 'separate' (the original code: the "
                     "first model drawn from the seeded stream; the training model is the next draw) or "
                     "'same_init' (the scorer equals the training model's initial weights)")
    # --- optimisation -----------------------------------------------------------------------
    lr: float = _f(1e-3, "base learning rate")
    optimizer: str = _f("adam", "'adam' (the original) or 'sgd' (plain, no momentum: a zeroed gradient "
                        "entry leaves its weight where it is)")
    batch_size: int = _f(64, "training batch size")
    eval_batch_size: int = _f(200, "evaluation and scoring batch size: bookkeeping, like the thread count (on a CPU "
                              "the logits are the same bit for bit at 1000 and 200, a test checks it; on a GPU the "
                              "kernels chosen per size may differ in the last bits); 200 evaluated 1.85x as fast "
                              "as 1000 on this project's 2-core CPU (python -m selcore bench measures it)")
    seed: int = _f(42, "seed for model initialisation, data order and augmentation")
    device: str = _f("auto", "'auto' (cuda if available), 'cpu', 'cuda' or 'cuda:N'")
    # --- baseline and lottery ticket ---------------------------------------------------------
    num_epochs: int = _f(30, "Baseline epochs; also the Lottery Ticket's logged retraining epochs")
    lth_pretrain_epochs: int = _f(15, "Lottery Ticket: dense epochs before pruning")
    prune_fraction: float = _f(0.8, "Lottery Ticket: fraction of weights removed by global magnitude pruning")
    prune_scope: str = _f("all", "Lottery Ticket: 'all' parameter tensors (the original) or "
                          "'conv_linear' weights only")
    rewind_masking: str = _f("after_step", "Lottery Ticket: when the masks first act on the rewound weights: "
                             "'after_step' (the original code: rewind to the dense initial weights, re-mask after "
                             "every optimizer step, the first included) or 'at_rewind' (w0 * m at the rewind)")
    # --- SEL --------------------------------------------------------------------------------
    temperature: float = _f(1.5, "SEL: temperature T of the embarrassment cross-entropy")
    percentile: float = _f(40.0, "SEL: guilt threshold gamma0 = this percentile of |grad| at calibration")
    calib_size: int = _f(128, "SEL: calibration batch = the first n training images")
    calibration_mode: str = _f("eval", "SEL: BatchNorm mode of the calibration forward/backward: 'eval' "
                               "(the original code: its scorer is left in eval mode, running statistics) or "
                               "'train' (batch statistics)")
    score_augmented: bool = _f(True, "SEL: score every training image, and take the calibration batch, through "
                               "the training augmentation (crop pad 4 + flip; the original code) instead of the "
                               "clean images; drawn from a generator seeded with the run's seed")
    stage_windows: tuple = _f(PAPER_STAGES, "SEL: (start, end) fraction of each class's easy-to-hard "
                              "order per stage, as JSON, e.g. [[0,0.25],[0.2,0.5]]")
    stage_epochs: tuple = _f((10, 10, 10, 10, 10), "SEL: epochs per stage, as JSON or comma list")
    stage_cap: int = _f(2000, "SEL: at most this many images per class per stage")
    gamma_decay: float = _f(0.3, "SEL: gamma of stage s (0-based of S) = gamma0 * (1 - decay * s / S)")
    lr_loss_scale: float = _f(2.0, "SEL: step lr = lr * (1 + scale * loss)")
    warmup_epochs: int = _f(5, "Warmup+SEL: dense epochs before the SEL stages")
    warmup_per_class: int = _f(1000, "Warmup+SEL: the warmup trains on this many easiest images per class")
    # --- equal compute ----------------------------------------------------------------------
    budget: float = _f(0.0, "stop training at the end of the first epoch at which the executed FLOPs reach this "
                       "multiple of the Baseline's (num_epochs dense epochs over the training set); 0 = the "
                       "experiment's own schedule; only for baseline, sb, sb_topk, adaptive_dense, classweight_dense")
    sb_beta: float = _f(3.0, "Selective Backprop: keep probability = (fraction of recent losses below)^beta")
    sb_history: int = _f(1024, "Selective Backprop: how many recent losses the percentile is taken over")
    sb_fraction: float = _f(0.5, "sb_topk: the fraction of each batch (highest losses) that is trained")
    target_density: float = _f(0.05, "adaptive gamma: the fraction of gradient entries kept per step (0.05 = the "
                               "release's 'target 95% frozen gradients')")
    density_sample: int = _f(65536, "adaptive gamma: gradient entries in the fixed random sample the per-step "
                             "quantile is taken over")
    # --- applications: communication and forgetting -----------------------------------------
    world_size: int = _f(2, "data-parallel experiments (ddp_*): worker processes (gloo on CPUs, NCCL with one GPU "
                         "per worker)")
    classes_per_task: int = _f(2, "Split CIFAR-10 (split_*): classes per task (2: five tasks)")
    task_epochs: int = _f(5, "Split CIFAR-10: epochs per task")
    replay_per_class: int = _f(20, "split_replay: images per class kept in the episodic memory")
    # --- execution ----------------------------------------------------------------------------
    engine: str = _f("eager", "how the training step executes: 'eager' (PyTorch op by op) or 'compile' "
                     "(torch.compile of the network's forward and backward, the loop's hooks unchanged; compiled "
                     "once per process, cached on disk in <data_cache>/inductor; a compiled SEL run is not "
                     "reproducible within one process, see selcore.engine.execution); python -m selcore bench "
                     "measures both. Changes the kernels, so the last bits of a run's numbers: part of a run's "
                     "identity")
    channels_last: bool = _f(False, "keep the network's weights and activations in channels-last memory format "
                             "(NHWC): python -m selcore bench found it the fastest mode within the eager runs' "
                             "accuracy spread on this project's 2-core CPU (quick size: dense 1.38x, SEL 1.42x, "
                             "evaluation 1.24x eager contiguous; at width 64 one training step timed alone 1.12x, "
                             "evaluation 1.52x), but this torch build (2.14.1, CPU) corrupts memory in its "
                             "convolution backward at width 8 for odd batch sizes (3, 5, 17: double free or segfault; "
                             "none at widths 16 and 32 over 26 odd sizes from 3 to 63, none at width 64 over every "
                             "odd size from 1 to 65), so it is not the default here; the wide profile sets it. "
                             "Changes the kernels, so the last bits of a run's numbers: part of a run's identity")
    # --- bookkeeping ------------------------------------------------------------------------
    deterministic: bool = _f(False, "bit-reproducible kernels: torch.use_deterministic_algorithms(True), "
                             "cuDNN deterministic, no benchmark (CPU runs are reproducible either way)")
    progress: str = _f("bar", "progress display: 'bar' (tqdm), 'log' (one line per epoch) or 'none'")

    # ------------------------------------------------------------------------------------
    def __post_init__(self):
        # normalise containers so that configs built from JSON or lists compare equal
        object.__setattr__(self, "stage_windows",
                           tuple(tuple(float(v) for v in w) for w in self.stage_windows))
        object.__setattr__(self, "stage_epochs", tuple(int(e) for e in self.stage_epochs))
        self.validate()

    @property
    def num_stages(self) -> int:
        return len(self.stage_windows)

    def validate(self) -> None:
        """Raise ConfigError (one line) for the first bad value or contradictory combination."""
        def bad(name, allowed):
            raise ConfigError(f"bad parameter {name}={getattr(self, name)!r}: {allowed}")

        if self.experiment not in ALL_EXPERIMENTS:
            bad("experiment", f"must be one of {', '.join(ALL_EXPERIMENTS)}")
        if self.optimizer not in ("adam", "sgd"):
            bad("optimizer", "must be 'adam' or 'sgd'")
        if not isinstance(self.data, str) or not self.data:
            bad("data", "must be 'torchvision' or a path")
        for name in ("num_epochs", "batch_size", "eval_batch_size", "width", "calib_size",
                     "stage_cap", "held_out_per_class"):
            if getattr(self, name) <= 0:
                bad(name, "must be an integer > 0")
        for name in ("lth_pretrain_epochs", "warmup_epochs", "train_per_class", "test_per_class"):
            if getattr(self, name) < 0:
                bad(name, "must be an integer >= 0")
        if self.test_per_class and self.held_out_per_class > self.test_per_class:
            bad("held_out_per_class", f"must be <= test_per_class={self.test_per_class}")
        if self.warmup_per_class <= 0:
            bad("warmup_per_class", "must be an integer > 0")
        if not 0 < self.percentile < 100:
            bad("percentile", "must lie strictly between 0 and 100")
        if not 0 < self.prune_fraction < 1:
            bad("prune_fraction", "must lie strictly between 0 and 1")
        if self.prune_scope not in ("all", "conv_linear"):
            bad("prune_scope", "must be 'all' or 'conv_linear'")
        for name, allowed in (("conv1_init", ("default", "kaiming")), ("scorer", ("separate", "same_init")),
                              ("calibration_mode", ("eval", "train")),
                              ("rewind_masking", ("after_step", "at_rewind"))):
            if getattr(self, name) not in allowed:
                bad(name, f"must be {' or '.join(repr(a) for a in allowed)}")
        if not self.lr > 0:
            bad("lr", "must be > 0")
        if not self.temperature > 0:
            bad("temperature", "must be > 0")
        if not 0 <= self.gamma_decay < 1:
            bad("gamma_decay", "must lie in [0, 1)")
        if self.lr_loss_scale < 0:
            bad("lr_loss_scale", "must be >= 0")
        if self.budget < 0:
            bad("budget", "must be >= 0 (0 = the experiment's own schedule)")
        if self.budget and self.experiment not in BASELINE_SCHEDULE:
            bad("budget", f"only the experiments on the Baseline's schedule stop at a budget "
                          f"({', '.join(BASELINE_SCHEDULE)}), not {self.experiment}")
        if not self.sb_beta > 0:
            bad("sb_beta", "must be > 0")
        if self.sb_history <= 0 or self.density_sample <= 0:
            bad("sb_history" if self.sb_history <= 0 else "density_sample", "must be an integer > 0")
        if not 0 < self.sb_fraction <= 1:
            bad("sb_fraction", "must lie in (0, 1]")
        if not 0 < self.target_density <= 1:
            bad("target_density", "must lie in (0, 1]")
        if self.world_size < 2:
            bad("world_size", "must be an integer >= 2 (data-parallel workers)")
        if self.classes_per_task <= 0 or 10 % self.classes_per_task:
            bad("classes_per_task", "must divide the 10 classes (1, 2 or 5)")
        for name in ("task_epochs", "replay_per_class"):
            if getattr(self, name) <= 0:
                bad(name, "must be an integer > 0")
        if self.engine not in ENGINES:
            bad("engine", f"must be {' or '.join(map(repr, ENGINES))}")
        if self.progress not in ("bar", "log", "none"):
            bad("progress", "must be 'bar', 'log' or 'none'")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            bad("device", "must be 'auto', 'cpu', 'cuda' or 'cuda:N'")
        if self.num_stages == 0:
            bad("stage_windows", "needs at least one (start, end) pair")
        for w in self.stage_windows:
            if len(w) != 2 or not 0 <= w[0] < w[1] <= 1:
                bad("stage_windows", "each stage is a pair 0 <= start < end <= 1")
        if len(self.stage_epochs) != self.num_stages:
            bad("stage_epochs", f"needs one entry per stage ({self.num_stages} stages)")
        if any(e <= 0 for e in self.stage_epochs):
            bad("stage_epochs", "every stage needs >= 1 epoch")
        if self.pretrained and self.width != 64 and not self.weights_file:
            bad("pretrained", "ImageNet weights exist only for width=64 (another width reads a stand-in's "
                              "weights_file)")
        if self.weights_file and not self.pretrained:
            bad("weights_file", "is read only with pretrained=true")
        if self.train_per_class and self.calib_size > 10 * self.train_per_class:
            bad("calib_size", "must not exceed the training set size (10 * train_per_class)")
        for name, bound in registry.spec(self.experiment).limits:  # what the experiment's plan draws from
            if getattr(self, bound) and getattr(self, name) > getattr(self, bound):
                bad(name, f"must be <= {bound}={getattr(self, bound)}")

    # ------------------------------------------------------------------------------------
    @classmethod
    def fields(cls) -> dict[str, dataclasses.Field]:
        return {f.name: f for f in dataclasses.fields(cls)}

    @classmethod
    def help(cls) -> str:
        """One line per parameter: name, default, help text."""
        return "\n".join(f"{name:20s} {f.default if f.default is not dataclasses.MISSING else ''!s:24s} "
                         f"{f.metadata['help']}" for name, f in cls.fields().items())

    def replace(self, **changes) -> "Config":
        unknown = set(changes) - set(self.fields())
        if unknown:
            name = sorted(unknown)[0]
            raise ConfigError(f"unknown parameter {name!r}{did_you_mean([name], self.fields())}: allowed are "
                              f"{', '.join(self.fields())}")
        typed = {k: coerce(k, v) for k, v in changes.items()}
        return dataclasses.replace(self, **typed)

    @staticmethod
    def parse_overrides(pairs: Iterable[str], what: str = "--set") -> dict[str, str]:
        """``key=value`` strings (the command line's --set, a chapter's settings) as {key: value} strings, to be
        coerced by ``replace``; a pair without ``=`` fails naming ``what`` it came from."""
        changes = {}
        for pair in pairs:
            k, sep, v = pair.partition("=")
            if not sep:
                raise ConfigError(f"bad {what} {pair!r}: write key=value (see python -m selcore params)")
            changes[k.strip()] = v.strip()
        return changes

    def with_overrides(self, pairs: Iterable[str]) -> "Config":
        """Apply ``key=value`` strings (the command line's --set)."""
        return self.replace(**self.parse_overrides(pairs))

    BOOKKEEPING = ("progress", "data_cache", "data", "eval_batch_size", "weights_file")
    """Fields that change how a run is shown, found or how fast it goes, never its numbers on a given machine (the
    data source is compared by its name in run.json, so that a relative and an absolute path to the same file agree;
    runs recorded before ``eval_batch_size`` became bookkeeping still match)."""

    ONLY_FOR = registry.field_owners()
    """Fields that change the results of these experiments only (a profile may set them without touching others)."""

    LEGACY = {"engine": "eager", "channels_last": False}
    """Fields whose value in runs recorded before the field existed is not today's default: what the code did then
    (``completed_identity`` fills these in, not the default)."""

    @classmethod
    def _relevant(cls, identity: Mapping[str, Any]) -> dict[str, Any]:
        e = identity.get("experiment")
        return {k: v for k, v in identity.items() if e in cls.ONLY_FOR.get(k, (e,))}

    def identity(self) -> dict[str, Any]:
        """The fields that determine a run's results (``ONLY_FOR``'s only for their experiments): a checkpoint
        resumes only under the same identity."""
        return self._relevant({k: v for k, v in self.to_dict().items() if k not in self.BOOKKEEPING})

    @classmethod
    def completed_identity(cls, recorded: Mapping[str, Any]) -> dict[str, Any]:
        """A run's recorded identity with every field added since it was written set to its default: a new
        field's default reproduces what the code did before the field existed, so such a run still
        counts as the same run; where the default has changed since, ``LEGACY`` holds what the code did before the
        field existed. Fields that do not concern its experiment (``ONLY_FOR``) and bookkeeping fields
        (``BOOKKEEPING``) are left out."""
        defaults = {**cls().replace(experiment=recorded.get("experiment", registry.BASELINE)).identity(), **cls.LEGACY}
        kept = {k: v for k, v in recorded.items() if k not in cls.BOOKKEEPING}
        return cls._relevant({**{k: v for k, v in defaults.items() if k not in kept}, **kept})

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["stage_windows"] = [list(w) for w in self.stage_windows]
        d["stage_epochs"] = list(self.stage_epochs)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Config":
        return cls().replace(**dict(d))


def coerce(name: str, value: Any) -> Any:
    """Turn a string/JSON/number into the type of field ``name``; ConfigError if impossible."""
    f = Config.fields()[name]
    kind = type(f.default) if f.default is not dataclasses.MISSING else type(f.default_factory())
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            s = str(value).strip().lower()
            if s in ("1", "true", "yes", "on"):
                return True
            if s in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
                raise ValueError
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind is tuple:
            if isinstance(value, str):
                s = value.strip()
                value = json.loads(s) if s.startswith("[") else [v for v in s.split(",") if v.strip()]
            if name == "stage_windows":
                return tuple(tuple(float(x) for x in w) for w in value)
            return tuple(int(str(x).strip()) for x in value)
        if kind is str:
            if not isinstance(value, str):
                raise ValueError
            return value
    except (ValueError, TypeError, json.JSONDecodeError):
        pass
    raise ConfigError(f"bad parameter {name}={value!r}: expected {kind.__name__} ({f.metadata['help']})")
