"""Training progress in epochs, from the runs to whoever launched them (the book's runner, ``python -m selcore run``
and ``chapter``).

A run appends JSON lines to the file named by ``$SELCORE_EPOCH_LOG`` (nothing happens where it is unset): one
``start`` line once its plan is known (the epochs it has in all and those already done, by an earlier process) and
one ``epoch`` line per finished training epoch with the seconds it took. ``Tally`` reads the file back: epochs
planned by the runs started so far, epochs trained, the mean measured epoch time and the ETA of what is left. A
chapter's runs start one after another, so the planned total grows as they start; the runner says so.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

EPOCH_LOG_ENV = "SELCORE_EPOCH_LOG"
"""The environment variable naming the epoch log a run appends to."""


def _append(event: dict) -> None:
    path = os.environ.get(EPOCH_LOG_ENV)
    if not path:
        return
    with open(path, "a") as f:  # one short line per write: concurrent runs do not interleave within a line
        f.write(json.dumps(event) + "\n")


def run_started(run: str, total: int, done: int) -> None:
    """A run's plan is known: ``total`` training epochs, ``done`` of them by an earlier process."""
    _append({"event": "start", "run": run, "total": int(total), "done": int(done)})


def epoch_done(run: str, seconds: float) -> None:
    """A run finished one training epoch in ``seconds`` (evaluation and checkpoint included)."""
    _append({"event": "epoch", "run": run, "seconds": round(float(seconds), 3)})


@dataclass
class Tally:
    """What an epoch log says: per run, its planned epochs (``total``), those done before this process
    (``earlier``) and the measured epoch times of this process (``seconds``)."""
    total: dict[str, int] = field(default_factory=dict)
    earlier: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path | str) -> "Tally":
        """The tally of ``path`` (empty where it does not exist yet; a line cut short by a crash is skipped)."""
        t = cls()
        path = Path(path)
        if not path.exists():
            return t
        for line in path.read_text().splitlines():
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:
                continue
            if ev.get("event") == "start":
                t.total[ev["run"]], t.earlier[ev["run"]] = ev["total"], ev["done"]
                t.seconds.setdefault(ev["run"], [])
            elif ev.get("event") == "epoch":
                t.seconds.setdefault(ev["run"], []).append(ev["seconds"])
        return t

    @property
    def planned(self) -> int:
        """Epochs this process has to train for the runs started so far."""
        return sum(self.total[r] - self.earlier.get(r, 0) for r in self.total)

    @property
    def trained(self) -> int:
        """Epochs this process has trained."""
        return sum(len(s) for s in self.seconds.values())

    @property
    def epoch_seconds(self) -> float | None:
        """The mean measured epoch time (None before the first epoch)."""
        times = [x for s in self.seconds.values() for x in s]
        return sum(times) / len(times) if times else None

    def eta(self) -> float | None:
        """Seconds left for the planned epochs: each run's remaining epochs at its own mean measured epoch time,
        or at the mean over all runs before its first epoch (None before any epoch)."""
        mean = self.epoch_seconds
        if mean is None:
            return None
        left = 0.0
        for run, total in self.total.items():
            times = self.seconds.get(run) or [mean]
            left += max(total - self.earlier.get(run, 0) - len(self.seconds.get(run, [])), 0) * sum(times) / len(times)
        return left
