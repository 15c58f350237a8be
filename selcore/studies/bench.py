"""``python -m selcore bench``: training throughput of our step against a plain reference loop, one run.

Everything is measured in one process, on the same device, data and network:

* ``reference``: the loop most PyTorch users write (and the original release uses): a ``DataLoader``
  over PIL images with torchvision transforms (random crop with padding 4, flip, to-tensor, normalise),
  each batch copied to the device, forward, loss, backward, Adam step, ``loss.item()`` every step.
* ``sb`` / ``sb_topk``: an epoch of Selective Backprop (every image scored by a no-grad forward pass, the
  selected ones trained) and of its fixed-fraction variant; their images/s count the images scored, so that the
  ratio to ``dense`` is the ratio of epoch times, printed with the ratio of executed FLOPs per epoch.
* ``dense`` / ``sel``: ``selcore.engine.train.train_epoch`` on device-resident uint8 images with augmentation
  on the device; ``sel`` adds SEL's hook (per-class E/C, lr scaling, the guilt-threshold mask at the
  calibrated gamma0). ``+density`` rows also carry ``UpdateDensityHook``, as every experiment run does today.
* ``eval@1000`` / ``eval@<eval_batch_size>``: no-grad forward passes over the same images at the old and the
  current evaluation batch size, with whether their logits agree bit for bit (no ratio to the training reference).

* execution modes (``MODES``: ``Config.engine`` x ``Config.channels_last``): ``dense+density`` and
  ``sel+density`` (every hook a run carries) and ``eval@<eval_batch_size>`` of each mode, timed in interleaved
  rounds (one epoch of every mode per round) so that a change of the machine's load hits all modes alike; each
  row's ``speedup_vs_eager`` is its images/s over the eager contiguous row of the same step, and ``first_epoch_s``
  the wall time of its first epoch (compilation included, the warm-up). ``accuracy_check`` then trains each mode
  from scratch for a few epochs at three seeds and asks whether its held-out accuracy stays within the eager
  runs' seed spread.

Each row reports images/s (median of ``repeats`` timed epochs after one warm-up epoch), its ratio to the
reference, and the achieved FLOP/s (executed training FLOPs per image x images/s) against a measured
large-matmul rate on the device. Rows are appended to ``benchmarks/bench.csv``.
"""
from __future__ import annotations

import platform
import statistics
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image

from ..engine import curriculum, execution
from .. import schedules
from ..config import Config
from ..engine.data import MEAN, STD, DeviceData, load_cifar10
from ..engine.experiments import resolve_device
from ..engine.flops import ExecutedFlops
from ..engine.selection import SelectiveBackprop, TopFraction
from ..engine.train import SELHook, UpdateDensityHook, evaluate, make_optimizer, test_logits, train_epoch

BENCH_CSV = Path("benchmarks") / "bench.csv"


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def matmul_flops_per_s(dev: torch.device, n: int | None = None, repeats: int = 5) -> float:
    """FLOP/s of an n x n fp32 matrix product (2 n^3 FLOPs), best of ``repeats``: the device's practical peak."""
    n = n or (8192 if dev.type == "cuda" else 1024)
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        _sync(dev)
        t0 = time.perf_counter()
        a @ b
        _sync(dev)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best


class _PILSet(torch.utils.data.Dataset):
    """The training images as PIL images through torchvision transforms: the common reference pipeline."""

    def __init__(self, x_uint8: torch.Tensor, y: torch.Tensor):
        self.images = [Image.fromarray(img.permute(1, 2, 0).numpy()) for img in x_uint8.cpu()]
        self.y = y.cpu().tolist()
        self.tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                             T.Normalize(MEAN, STD)])

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.tf(self.images[i]), self.y[i]


def reference_epoch(net, opt, loader, dev) -> int:
    """One epoch of the reference loop; returns the number of images."""
    net.train()
    n = 0
    for X, y in loader:
        X, y = X.to(dev), y.to(dev)
        loss = F.cross_entropy(net(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()  # per-step host sync, as in the original release
        n += len(y)
    return n


def _time(fn, dev, repeats: int) -> float:
    fn()  # warm-up (allocator, autotuning)
    times = []
    for _ in range(repeats):
        _sync(dev)
        t0 = time.perf_counter()
        n = fn()
        _sync(dev)
        times.append(n / (time.perf_counter() - t0))
    return statistics.median(times)


SELECTORS = {"dense": lambda cfg: None, "sb": lambda cfg: SelectiveBackprop(cfg.sb_beta, cfg.sb_history),
             "sb_topk": lambda cfg: TopFraction(cfg.sb_fraction)}
"""The epochs ``selective_epochs`` compares: every image trained, Selective Backprop, its fixed-fraction variant."""


def selective_epochs(cfg: Config, data: DeviceData, fresh, fl: ExecutedFlops, repeats: int = 3,
                     steps=("dense", "sb", "sb_topk")) -> pd.DataFrame:
    """Per step, a fresh network's epochs over all of ``data`` timed (median of ``repeats`` after one warm-up epoch,
    which also fills Selective Backprop's loss history) and the executed FLOPs of the last one relative to a dense
    epoch's. ``images_per_s`` counts the images an epoch passes over (scored or trained), so that the ratio of two
    steps' rates is the inverse ratio of their epoch times."""
    dev = data.device
    idx = torch.arange(len(data), device=dev)
    dense_flops = fl.train_epoch(len(data), cfg.batch_size)
    rows = []
    for step in steps:
        net, opt = fresh()
        gen = torch.Generator(device=dev)
        gen.manual_seed(cfg.seed)
        selector, last = SELECTORS[step](cfg), {}

        def epoch():
            res = train_epoch(net, opt, data, idx, cfg.batch_size, gen, selector=selector)
            last["flops"] = fl.train_epoch(res.samples, cfg.batch_size) + fl.forward_pass(res.forward_samples,
                                                                                          cfg.batch_size)
            return len(idx)
        rows.append({"engine": "eager", "step": step, "images_per_s": _time(epoch, dev, repeats),
                     "flops_ratio": last["flops"] / dense_flops})
    return pd.DataFrame(rows)


EVAL_REFERENCE_BATCH = 1000
"""The evaluation batch size the project used before 200 (``Config.eval_batch_size``); ``run_bench`` times both."""


def eval_rates(net, x: torch.Tensor, sizes, dev, repeats: int = 3) -> tuple[dict[int, float], bool]:
    """Images/s of ``train.test_logits`` over ``x`` at each batch size in ``sizes`` (median of ``repeats`` after a
    warm-up), and whether the logits are the same bit for bit at every size."""
    rates, logits = {}, {}
    for bs in dict.fromkeys(sizes):
        def run(bs=bs):
            logits[bs] = test_logits(net, x, bs)
            return len(x)
        rates[bs] = _time(run, dev, repeats)
    first, *others = logits.values()
    return rates, all(torch.equal(first, other) for other in others)


def speed_comparison(cfg: Config, images: int = 1000, repeats: int = 5) -> pd.DataFrame:
    """SEL-95's training step against the Baseline's, timed under control: over the first ``images`` training
    images, in ``cfg``'s execution mode (the runs'), ``repeats`` interleaved rounds of one dense epoch, one SEL
    stage-1 epoch (its hook at the calibrated stage-1 threshold, update density logged, as in the runs) and one
    evaluation-mode forward pass at ``cfg.eval_batch_size`` (what difficulty scoring and evaluation execute), after
    a warm-up epoch each (``mode_rates``). One row per (step, round): images/s, with the device, width and time."""
    dev = resolve_device(cfg.device)
    per_class = max(1, images // 10)
    data = DeviceData(load_cifar10(cfg.data, cfg.data_cache), dev, per_class, 1, 1)
    c = cfg.replace(train_per_class=per_class, calib_size=min(cfg.calib_size, per_class * 10))
    gamma0 = curriculum.compute_curriculum(c, data)["gamma0"]
    rates = mode_rates(c, data, gamma0, repeats, modes=((cfg.engine, cfg.channels_last),))
    df = pd.DataFrame([{"step": r.step.split("@")[0].replace("+density", ""), "round": k + 1, "images_per_s": v}
                       for r in rates.itertuples() for k, v in enumerate(r.round_rates)])
    df.insert(0, "device", device_name(dev))
    df["width"], df["batch_size"], df["images"] = cfg.width, cfg.batch_size, len(data)
    df["engine"], df["channels_last"] = cfg.engine, cfg.channels_last
    df["time_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return df


def compare_epochs(cfg: Config, images: int = 1000, repeats: int = 3) -> pd.DataFrame:
    """Selective Backprop's and its variant's epoch against a dense (Baseline) epoch on ``cfg``'s device, width and
    batch size over the first ``images`` training images, measured in this one run: per step the epoch's wall
    time and executed FLOPs as ratios to the dense epoch's, with the device and time of the measurement."""
    dev = resolve_device(cfg.device)
    data = DeviceData(load_cifar10(cfg.data, cfg.data_cache), dev, max(1, images // 10), 1, 1)
    c = cfg.replace(train_per_class=max(1, images // 10))
    fl = ExecutedFlops(curriculum.training_model(c, 10))

    def fresh():
        net = curriculum.training_model(c, data.num_classes).to(dev)
        return net, make_optimizer(net, cfg.lr, cfg.optimizer)
    df = selective_epochs(cfg, data, fresh, fl, repeats)
    dense = float(df.loc[df.step == "dense", "images_per_s"].iloc[0])
    df["time_ratio"] = dense / df["images_per_s"]
    df.insert(0, "device", device_name(dev))
    df["width"], df["batch_size"], df["images"], df["repeats"] = cfg.width, cfg.batch_size, len(data), repeats
    df["time_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return df


def run_bench(cfg: Config, images: int = 2000, repeats: int = 3, out_csv: Path | str | None = BENCH_CSV,
              log=print, check_epochs: int = 2, check_images: int | None = None) -> pd.DataFrame:
    """Time the reference loop, our dense/SEL steps and every execution mode on ``cfg``'s device, width and batch
    size over the first ``images`` training images (``images // 10`` per class), then run the modes' accuracy check
    (``check_epochs`` epochs per run over ``check_images`` images, default ``images``); print and return the table."""
    dev = resolve_device(cfg.device)
    raw = load_cifar10(cfg.data, cfg.data_cache)
    per_class = max(1, images // 10)
    data = DeviceData(raw, dev, per_class, 1, 1)
    idx = torch.arange(len(data), device=dev)
    c = cfg.replace(train_per_class=per_class, calib_size=min(cfg.calib_size, len(data)))
    gamma0 = curriculum.compute_curriculum(c, data)["gamma0"]
    fl = ExecutedFlops(curriculum.training_model(c, 10))
    per_image = fl.train(cfg.batch_size) / cfg.batch_size
    peak = matmul_flops_per_s(dev)
    rows = []

    def fresh():
        net = curriculum.training_model(c, data.num_classes).to(dev)
        return net, make_optimizer(net, cfg.lr, cfg.optimizer)

    net, opt = fresh()
    g = torch.Generator().manual_seed(cfg.seed)
    loader = torch.utils.data.DataLoader(_PILSet(data.train_x, data.train_y), batch_size=cfg.batch_size,
                                         shuffle=True, num_workers=0, generator=g)
    ref = _time(lambda: reference_epoch(net, opt, loader, dev), dev, repeats)
    rows.append({"engine": "reference", "step": "dense", "images_per_s": ref})
    for step in ("dense", "sel"):
        for density in (False, True):
            net, opt = fresh()
            gen = torch.Generator(device=dev)
            gen.manual_seed(cfg.seed)
            hooks = ([SELHook(opt, cfg.lr, schedules.stage_gamma(gamma0, 0), data.num_classes, cfg.temperature,
                              cfg.lr_loss_scale)] if step == "sel" else []) + ([UpdateDensityHook(net)] if density else [])
            rate = _time(lambda: train_epoch(net, opt, data, idx, cfg.batch_size, gen, hooks).samples, dev, repeats)
            rows.append({"engine": "eager", "step": step + ("+density" if density else ""), "images_per_s": rate})
    eval_at, same_logits = eval_rates(fresh()[0], data.train_eval_batch(idx),
                                      (EVAL_REFERENCE_BATCH, cfg.eval_batch_size), dev, repeats)
    rows += [{"engine": "eager", "step": f"eval@{bs}", "images_per_s": rate} for bs, rate in eval_at.items()]
    sb = selective_epochs(cfg, data, fresh, fl, repeats, ("sb", "sb_topk"))
    sb_flops = dict(zip(sb["step"], sb["flops_ratio"]))
    rows += sb[["engine", "step", "images_per_s"]].to_dict("records")
    for r in rows:
        r.update(channels_last=False, timing="sequential")
    modes = mode_rates(c, data, gamma0, repeats).drop(columns="round_rates")
    rows += modes.to_dict("records")
    df = pd.DataFrame(rows)
    evals = df.step.str.startswith("eval@")
    df["ratio_to_reference"] = (df["images_per_s"] / ref).where(~evals)  # the reference is a training loop
    df["achieved_TFLOP_s"] = df["images_per_s"] * per_image / 1e12
    df.loc[evals, "achieved_TFLOP_s"] = df.loc[evals, "images_per_s"] * fl.forward(1) / 1e12
    for step, ratio in sb_flops.items():  # an SB epoch executes ``ratio`` x a dense epoch's FLOPs
        df.loc[df.step == step, "achieved_TFLOP_s"] *= ratio
    df["matmul_TFLOP_s"] = peak / 1e12
    df["fraction_of_matmul"] = df["achieved_TFLOP_s"] / df["matmul_TFLOP_s"]
    dense = float(df.loc[(df.engine == "eager") & (df.step == "dense"), "images_per_s"].iloc[0])
    sel_rate = float(df.loc[(df.engine == "eager") & (df.step == "sel"), "images_per_s"].iloc[0])
    df.insert(0, "device", device_name(dev))
    df.insert(1, "width", cfg.width)
    df.insert(2, "batch_size", cfg.batch_size)
    df.insert(3, "images", len(data))
    df["time_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    log(df.drop(columns=["time_utc"]).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    log(f"SEL step time / dense step time (eager): {dense / sel_rate:.3f}; "
        f"dense step vs reference loop: {dense / ref:.2f}x")
    log(f"evaluation at batch {cfg.eval_batch_size} / at batch {EVAL_REFERENCE_BATCH}, measured in this run: "
        f"{eval_at[cfg.eval_batch_size] / eval_at[EVAL_REFERENCE_BATCH]:.2f}x the images/s; logits the same bit for "
        f"bit: {same_logits}")
    for step, ratio in sb_flops.items():
        rate = float(df.loc[(df.engine == "eager") & (df.step == step), "images_per_s"].iloc[0])
        log(f"{step} epoch / Baseline (dense) epoch, measured in this run: wall time {dense / rate:.3f}, "
            f"executed FLOPs {ratio:.3f}")
    for (engine, cl), g in modes.groupby(["engine", "channels_last"], sort=False):
        ratios = ", ".join(f"{r.step} {r.speedup_vs_eager:.2f}x" for r in g.itertuples())
        log(f"{mode_name(engine, cl)} / eager, measured in this run: {ratios}; first epoch "
            f"{g.first_epoch_s.max():.1f} s (the warm-up; compilation included)")
    check = accuracy_check(c, raw, dev, epochs=check_epochs, images=check_images or images)
    log(format_check(check))
    log(format_fastest(fastest_passing(modes, check), Config()))
    if out_csv:
        log(f"appended to {append_csv(df, out_csv)}")
    return df


def append_csv(df: pd.DataFrame, out_csv: Path | str) -> Path:
    """Append ``df``'s rows to ``out_csv`` (made with a header if absent), as each bench run does; returns the path."""
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_csv, mode="a", header=not out_csv.exists(), index=False)
    return out_csv


MODES = (("eager", False), ("eager", True), ("compile", False), ("compile", True))
"""The execution modes ``python -m selcore bench`` compares: (``Config.engine``, ``Config.channels_last``)."""


def mode_name(engine: str, channels_last: bool) -> str:
    """How bench's lines name a mode: ``eager``, ``eager+channels_last``, ``compile``, ``compile+channels_last``."""
    return engine + ("+channels_last" if channels_last else "")


def mode_network(cfg: Config, num_classes: int, dev: torch.device, engine: str, channels_last: bool):
    """A fresh training model of ``cfg`` on ``dev`` and the module its epochs call in that execution mode
    (``execution.prepare``)."""
    net = curriculum.training_model(cfg, num_classes).to(dev)
    return net, execution.prepare(net, engine, channels_last, cfg.data_cache)


def eager_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of the reference mode: eager, contiguous."""
    return df[(df.engine == "eager") & ~df.channels_last]


def mode_rates(cfg: Config, data: DeviceData, gamma0: float, repeats: int = 3, modes=MODES) -> pd.DataFrame:
    """Images/s of each execution mode's dense and SEL training epochs (with ``UpdateDensityHook``, as every run)
    and of its evaluation at ``cfg.eval_batch_size``, timed in interleaved rounds: one warm-up epoch per row (its
    wall time, compilation included, is ``first_epoch_s``), then ``repeats`` rounds of one epoch of every row; the
    median per row. ``speedup_vs_eager``: a row's images/s over the eager contiguous row of the same step."""
    dev, idx = data.device, torch.arange(len(data), device=data.device)
    runs = []
    for engine, cl in modes:
        for step in ("dense+density", "sel+density", f"eval@{cfg.eval_batch_size}"):
            net, fwd = mode_network(cfg, data.num_classes, dev, engine, cl)
            if step.startswith("eval@"):
                x = data.train_eval_batch(idx)

                def epoch(fwd=fwd, x=x):
                    test_logits(fwd, x, cfg.eval_batch_size)
                    return len(x)
            else:
                opt = make_optimizer(net, cfg.lr, cfg.optimizer)
                gen = torch.Generator(device=dev)
                gen.manual_seed(cfg.seed)
                hooks = ([SELHook(opt, cfg.lr, schedules.stage_gamma(gamma0, 0), data.num_classes, cfg.temperature,
                                  cfg.lr_loss_scale)] if step.startswith("sel") else []) + [UpdateDensityHook(net)]

                def epoch(net=net, opt=opt, gen=gen, hooks=hooks, fwd=fwd):
                    return train_epoch(net, opt, data, idx, cfg.batch_size, gen, hooks, forward=fwd).samples
            _sync(dev)
            t0 = time.perf_counter()
            epoch()
            _sync(dev)
            runs.append({"engine": engine, "channels_last": cl, "step": step, "epoch": epoch,
                         "first_epoch_s": time.perf_counter() - t0, "rates": []})
    for _ in range(repeats):
        for r in runs:
            _sync(dev)
            t0 = time.perf_counter()
            n = r["epoch"]()
            _sync(dev)
            r["rates"].append(n / (time.perf_counter() - t0))
    df = pd.DataFrame([{k: v for k, v in r.items() if k not in ("epoch", "rates")} |
                       {"images_per_s": statistics.median(r["rates"]), "timing": "interleaved",
                        "round_rates": list(r["rates"])} for r in runs])
    eager = eager_rows(df).set_index("step")["images_per_s"]
    df["speedup_vs_eager"] = df["images_per_s"] / df["step"].map(eager)
    return df


def accuracy_check(cfg: Config, raw, dev: torch.device, epochs: int = 2, images: int = 2000, seeds: int = 3,
                   modes=MODES) -> pd.DataFrame:
    """Each mode's held-out accuracy after ``epochs`` dense epochs from scratch on the first ``images`` training
    images, at ``seeds`` seeds (``cfg.seed`` on), on the first 100 test images of each class; ``within`` says whether
    a mode's mean accuracy lies within the eager runs' seed spread [min, max]."""
    data = DeviceData(raw, dev, max(1, images // 10), 100, 100)
    idx = torch.arange(len(data), device=dev)
    rows = []
    for engine, cl in modes:
        for seed in range(cfg.seed, cfg.seed + seeds):
            c = cfg.replace(seed=seed)
            net, fwd = mode_network(c, data.num_classes, dev, engine, cl)
            opt = make_optimizer(net, cfg.lr, cfg.optimizer)
            gen = torch.Generator(device=dev)
            gen.manual_seed(seed)
            for _ in range(epochs):
                train_epoch(net, opt, data, idx, cfg.batch_size, gen, forward=fwd)
            rows.append({"engine": engine, "channels_last": cl, "seed": seed,
                         "test_100": evaluate(fwd, data, cfg.eval_batch_size)["test_100"]})
    df = pd.DataFrame(rows)
    eager = eager_rows(df).test_100
    means = df.groupby(["engine", "channels_last"], sort=False).test_100.transform("mean")
    df["within"] = means.between(eager.min(), eager.max())
    df.attrs.update(epochs=epochs, images=len(data))
    return df


def fastest_passing(modes: pd.DataFrame, check: pd.DataFrame) -> pd.Series | None:
    """The execution mode whose accuracy check passes (mean within the eager spread) with the highest speed-up of
    its slower training step (``dense+density`` or ``sel+density`` vs eager, ``mode_rates``): the mode that should
    be the default for new runs. None when no mode passes. Its ``speedups`` map step -> speed-up."""
    train = modes[~modes.step.str.startswith("eval@")]
    passed = check.groupby(["engine", "channels_last"], sort=False).within.all()
    best = None
    for (engine, cl), g in train.groupby(["engine", "channels_last"], sort=False):
        if not passed.get((engine, cl), False):
            continue
        row = pd.Series({"engine": engine, "channels_last": bool(cl), "slowest": float(g.speedup_vs_eager.min()),
                         "speedups": dict(zip(g.step, g.speedup_vs_eager))})
        if best is None or row.slowest > best.slowest:
            best = row
    return best


def format_fastest(best: pd.Series | None, default: Config) -> str:
    """One line: the fastest passing mode and its training speed-ups, and the mode new runs use by default."""
    now = mode_name(default.engine, default.channels_last)
    if best is None:
        return f"no execution mode passed the accuracy check; the default for new runs is {now}"
    ratios = ", ".join(f"{k} {v:.2f}x" for k, v in best.speedups.items())
    name = mode_name(best.engine, best.channels_last)
    return (f"fastest mode within the eager spread (ranked by its slower training step): {name} ({ratios}); "
            f"the default for new runs (Config): {now}" + ("" if name == now else " (they differ)"))


def format_check(check: pd.DataFrame) -> str:
    """The accuracy check in lines: per mode its seeds' held-out accuracies, their mean, and the verdict."""
    eager = eager_rows(check).test_100
    lines = [f"accuracy check ({check.attrs.get('epochs')} epochs on {check.attrs.get('images')} images, held-out "
             f"accuracy %, eager seed spread [{eager.min():.1f}, {eager.max():.1f}]):"]
    for (engine, cl), g in check.groupby(["engine", "channels_last"], sort=False):
        values = ", ".join(f"{v:.1f}" for v in g.test_100)
        lines.append(f"  {mode_name(engine, cl):24s} seeds {values}; mean {g.test_100.mean():.1f}: "
                     f"{'within' if g.within.all() else 'OUTSIDE'} the eager spread")
    return "\n".join(lines)
