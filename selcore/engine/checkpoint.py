"""Checkpoints that cannot run code and survive damage: RNG states as tensors, two generations kept.

* Every checkpoint is loaded with ``torch.load(weights_only=True)``: a results folder copied from elsewhere
  cannot execute code on resume. The Python and NumPy RNG states are therefore stored as plain lists and
  tensors (``pack_rng`` / ``unpack_rng``).
* ``save`` writes to a temporary file and renames it; the checkpoint it replaces is kept as ``<name>.prev.pt``.
* ``load`` names a damaged checkpoint (truncated, not a zip) in one line and falls back to the previous
  generation; with none left it says how to start over.
"""
from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import numpy as np
import torch


class CheckpointError(RuntimeError):
    """No usable checkpoint (one-line message with the way out)."""


def previous(path: Path) -> Path:
    """The generation before ``path``: ``<stem>.prev.pt`` beside it."""
    return path.with_name(path.stem + ".prev.pt")


def pack_rng(device: torch.device) -> dict:
    """Every RNG state the training touches, as tensors and plain lists (safe for ``weights_only``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    return {"torch": torch.random.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
            "python": [int(version), list(internal), gauss]}


def unpack_rng(st: dict) -> None:
    """Restore the states saved by ``pack_rng``."""
    torch.random.set_rng_state(st["torch"].cpu())
    if st.get("cuda") is not None:
        torch.cuda.set_rng_state_all([s.cpu() for s in st["cuda"]])
    kind, keys, pos, has_gauss, cached = st["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = st["python"]
    random.setstate((version, tuple(internal), gauss))


def save(path: Path, state: dict) -> None:
    """Write ``state`` atomically; the checkpoint it replaces becomes ``previous(path)``. Raises OSError or
    RuntimeError (disk full ...) with the existing files untouched but for the temporary one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(state, tmp)
        if path.exists():
            os.replace(path, previous(path))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: Path, map_location) -> dict:
    return torch.load(path, weights_only=True, map_location=map_location)


def load(path: Path, map_location=None, log=None) -> dict | None:
    """The newest usable checkpoint at ``path`` (or its previous generation), None if neither exists.
    A damaged one is named in one line (``log``, default stderr) and skipped; if every existing generation
    is damaged, ``CheckpointError`` says how to start over."""
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    damaged = []
    for p in (path, previous(path)):
        if not p.exists():
            continue
        try:
            st = _read(p, map_location)
        except Exception as e:  # truncated, not a zip, unsafe pickle ...
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            log(f"checkpoint {p} is damaged or unsafe ({type(e).__name__}: {reason[:120]}); "
                f"{'trying the previous one' if p == path else 'ignoring it'}")
            damaged.append(p)
            continue
        if damaged:
            log(f"resuming from the previous checkpoint {p} (one epoch earlier)")
        return st
    if damaged:
        raise CheckpointError(f"no usable checkpoint in {path.parent} ({', '.join(p.name for p in damaged)} damaged); "
                              f"rerun with fresh=True (--fresh) to start this experiment over")
    return None
