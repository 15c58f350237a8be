"""A stand-in for ImageNet weights, for the sparsity study (``studies.sparsity_study``; its recipe is fixed on the book's
plans page).

The recipe (``StandIn``'s defaults):

* data: each class's CIFAR-10 training images after its first 500 (the quick and wide profiles use the first 500),
  4,500 per class, 45,000 in all; no test image;
* network: the CIFAR ResNet-18 of the point's width (3x3 stem, no max-pool), drawn with seed 0;
* training: dense, two epochs, with the quick profile's Baseline optimizer, learning rate, batch size and
  augmentation; no early stopping, no selection, whatever accuracy results;
* adaptation (where it is used, ``models.build_model(pretrained=True, weights_file=...)``): ``conv1`` and ``fc``
  fresh, every other weight and BatchNorm running statistic kept, as the original adapts ImageNet weights.

The weights file is kept with the results but not committed (a checkpoint); its record (accuracy on the full test
set, time, recipe) is. Training checkpoints after each epoch and resumes from there.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..config import Config
from ..profiles import profile_config
from ..engine import checkpoint, execution
from ..engine.data import CIFAR10, DeviceData
from ..engine.models import build_model
from ..engine.train import evaluate, make_optimizer, train_epoch


@dataclass(frozen=True)
class StandIn:
    """One stand-in's recipe (fixed before any was trained; see the module doc)."""
    width: int
    seed: int = 0
    epochs: int = 2
    skip_per_class: int = 500

    @property
    def name(self) -> str:
        return f"standin-w{self.width}"

    def config(self) -> Config:
        """The quick profile's Baseline configuration at this width (the wide profile's execution mode at 64)."""
        return profile_config("wide" if self.width == 64 else "quick", "baseline").replace(width=self.width,
                                                                                           seed=self.seed)


def weights_path(root: Path | str, width: int) -> Path:
    """The stand-in's state dict (not committed: a checkpoint)."""
    return Path(root) / "checkpoints" / f"{StandIn(width).name}.pt"


def record_path(root: Path | str, width: int) -> Path:
    """The stand-in's record: recipe, accuracy on the full test set, time (committed)."""
    return Path(root) / f"{StandIn(width).name}.json"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def train_standin(recipe: StandIn, raw: CIFAR10, root: Path | str, device: torch.device,
                  log=_log) -> Path:
    """Train ``recipe``'s stand-in into ``root`` (skipped where its weights and record exist); returns the weights
    file. Resumes from the checkpoint of its last finished epoch; prints its progress with an ETA."""
    root = Path(root)
    out, rec = weights_path(root, recipe.width), record_path(root, recipe.width)
    if out.exists() and rec.exists():
        return out
    cfg = recipe.config()
    data = DeviceData(raw, device, 0, cfg.held_out_per_class, 0, train_skip_per_class=recipe.skip_per_class)
    torch.manual_seed(recipe.seed)
    net = execution.to_memory_format(build_model(recipe.width, False, data.num_classes, cfg.conv1_init).to(device),
                                     cfg.channels_last)
    forward = execution.prepare(net, cfg.engine, cfg.channels_last, cfg.data_cache)
    opt = make_optimizer(net, cfg.lr, cfg.optimizer)
    gen = torch.Generator(device=device)
    gen.manual_seed(recipe.seed)
    ckpt = root / "checkpoints" / f"{recipe.name}-training.pt"
    done, seconds = 0, 0.0
    st = checkpoint.load(ckpt, map_location=device, log=log)
    if st is not None:
        net.load_state_dict(st["net"])
        opt.load_state_dict(st["opt"])
        gen.set_state(st["gen"])
        done, seconds = st["epochs"], st["time_s"]
        log(f"{recipe.name}: resuming after epoch {done} of {recipe.epochs}")
    idx = torch.arange(len(data), device=device)
    steps = -(-len(data) // cfg.batch_size)
    for epoch in range(done + 1, recipe.epochs + 1):
        t0 = time.perf_counter()

        def progress(step: int, epoch=epoch, t0=t0) -> None:
            if step % max(1, steps // 20) == 0 or step == steps:
                rate = (time.perf_counter() - t0) / step
                left = rate * (steps - step + (recipe.epochs - epoch) * steps)
                log(f"{recipe.name}: epoch {epoch}/{recipe.epochs}, step {step}/{steps}, "
                    f"ETA {left / 60:.0f} min")

        res = train_epoch(net, opt, data, idx, cfg.batch_size, gen, on_batch=progress, forward=forward)
        seconds += time.perf_counter() - t0
        checkpoint.save(ckpt, {"net": net.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(),
                               "epochs": epoch, "time_s": seconds})
        log(f"{recipe.name}: epoch {epoch} done, training accuracy {res.train_acc:.1f}%")
    ev = evaluate(forward, data, cfg.eval_batch_size)
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    tmp = out.with_name(out.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(out)
    record = {**asdict(recipe), "training_images": len(data), "test_full": ev["test_full"],
              "test_images": len(data.test_y), "time_s": seconds,
              "training": {k: getattr(cfg, k) for k in ("optimizer", "lr", "batch_size", "engine", "channels_last")}}
    rec.write_text(json.dumps(record, indent=1) + "\n")
    log(f"{recipe.name}: {ev['test_full']:.1f}% on the {len(data.test_y):,} test images after "
        f"{recipe.epochs} epochs ({seconds / 60:.0f} min); weights in {out}")
    return out
