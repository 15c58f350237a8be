"""A run's record in its results folder: the CSV rows, run.json, the checkpoint and what resuming checks.

``RunRecord`` knows where a run's files are, under which identity (its Config's identity and the data source's
name) they were written, and how to write them safely; it does not know what is trained. A checkpoint resumes only
under the same identity; a finished run (run.json status ``finished``, same identity, CSV present) is skipped.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from . import checkpoint
from ..config import Config, ConfigError
from ..paths import RunPaths, portable_path
from .results import environment, read_json, write_csv, write_json
from .train import ResourceError


def source_name(data: str) -> str:
    """The name a data source is recorded under (see ``CIFAR10.source``)."""
    return "torchvision CIFAR-10" if data == "torchvision" else Path(data).name


class RunRecord:
    """The files of experiment ``cfg.experiment`` in ``root``; only the ``lead`` process writes them."""

    def __init__(self, cfg: Config, root: Path, lead: bool = True, log: Callable[[str], None] = print):
        self.cfg = cfg
        self.paths = RunPaths(Path(root), cfg.experiment)
        self.lead = lead
        self.log = log

    def identity(self, source: str) -> dict:
        return {**self.cfg.identity(), "data_source": source}

    def is_finished(self, source: str) -> bool:
        """A finished run of the same parameters (data compared by source name) is in the folder."""
        p = self.paths.run_json
        if not (p.exists() and self.paths.csv.exists()):
            return False
        info = read_json(p)
        ident = info.get("identity") or {}
        return info.get("status") == "finished" and \
            Config.completed_identity({k: v for k, v in ident.items() if k != "data_source"}) == self.cfg.identity() and \
            ident.get("data_source") == source

    def finished_or_cleared(self, fresh: bool, source: str) -> bool:
        """``fresh``: delete the run's files (and go on, False); else True if a finished run is there (said once)."""
        if fresh:
            self.clear()
            return False
        if self.is_finished(source):
            self.log(f"{self.cfg.experiment}: finished results exist in {self.paths.root}, skipping "
                     f"(--fresh, or fresh=True, reruns it)")
            return True
        return False

    def clear(self) -> None:
        """Delete the run's files (``--fresh``)."""
        for p in (self.paths.checkpoint, checkpoint.previous(self.paths.checkpoint), self.paths.run_json,
                  self.paths.csv):
            p.unlink(missing_ok=True)

    def save_checkpoint(self, state: dict) -> None:
        if not self.lead:
            return
        p = self.paths.checkpoint
        try:
            checkpoint.save(p, state)
        except (OSError, RuntimeError) as e:
            raise ResourceError(f"could not save the checkpoint {p} ({e}); the previous checkpoint is kept, "
                                f"free disk space and rerun to resume") from None

    def load_checkpoint(self, source: str, device: torch.device) -> dict | None:
        """The last checkpoint (or the previous generation if it is damaged), None when there is none; ConfigError
        when it was written under another identity."""
        p = self.paths.checkpoint
        st = checkpoint.load(p, map_location=device, log=self.log)
        if st is None:
            return None
        old, new = Config.completed_identity(st.get("identity", {})), self.identity(source)
        if old != new:
            changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise ConfigError(f"{p} was written with other parameters ({', '.join(changed)}); "
                              f"rerun with fresh=True (--fresh) to start over")
        return st

    def save_csv(self, cols: list[str], rows: list[dict]) -> None:
        try:
            write_csv(self.paths.csv, cols, rows)
        except OSError as e:
            raise ResourceError(f"could not write {self.paths.csv} ({e}); the previous version is kept, free "
                                f"disk space and rerun to resume") from None

    def write_run_json(self, status: str, fields: dict, device: torch.device, extra: dict | None = None) -> None:
        """run.json: the experiment, ``status``, its configuration (no machine path), ``fields`` (identity, data,
        costs ...), the environment, when it started (kept from the first write) and ``extra``."""
        if not self.lead:
            return
        config = {**self.cfg.to_dict(), "data": portable_path(self.cfg.data, Path.cwd())}
        info = {"experiment": self.cfg.experiment, "status": status, "config": config, **fields,
                "environment": environment(device)}
        info = {k: info[k] for k in ("experiment", "status", "config", "identity", "seed", "data_source",
                                     "train_images", "num_params", "environment", "prior_cost", "workers",
                                     "epochs_logged") if k in info}
        if self.paths.run_json.exists():
            info["started_utc"] = read_json(self.paths.run_json).get("started_utc", info["environment"]["time_utc"])
        else:
            info["started_utc"] = info["environment"]["time_utc"]
        info.update(extra or {})
        write_json(self.paths.run_json, info)
