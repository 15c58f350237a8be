"""The runner's progress bar while a chapter executes: training epochs, not notebook cells.

The chapter's kernel inherits ``$SELCORE_EPOCH_LOG`` from the runner; every run it trains writes its plan and its
epochs there (``selcore.progress``). A thread reads the log once a second and shows ``epochs trained / epochs
planned by the runs started so far``, the mean measured epoch time and the ETA of those epochs. A chapter that only
reuses finished runs trains nothing and says so.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from tqdm import tqdm  # the console bar (tqdm.auto would pick the notebook widget inside Jupyter)

from ..progress import EPOCH_LOG_ENV, Tally


def clock(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"


def describe(tally: Tally) -> str:
    """The bar's right-hand text: what is planned so far, the epoch time and the ETA."""
    if not tally.total:
        return "no training started (finished runs are reused)"
    mean, eta = tally.epoch_seconds, tally.eta()
    runs = len(tally.total)
    text = f"{runs} run{'s' * (runs > 1)} started"
    if mean is None:
        return text + ", first epoch running"
    return text + f", {mean:.0f} s/epoch, ETA {clock(eta)} for the runs started"


class EpochBar:
    """``with EpochBar(log, desc):`` sets ``$SELCORE_EPOCH_LOG`` to ``log`` (emptied first) for the kernels started
    inside, and shows the epoch bar on ``file`` until the block ends."""

    def __init__(self, log: Path | str, desc: str, file=None, interval: float = 1.0):
        self.log, self.desc, self.file, self.interval = Path(log), desc, file, interval
        self._stop = threading.Event()

    def __enter__(self) -> "EpochBar":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log.write_text("")
        self._saved = os.environ.get(EPOCH_LOG_ENV)
        os.environ[EPOCH_LOG_ENV] = str(self.log)
        self._shown = None
        self.bar = tqdm(total=0, desc=self.desc, unit="epoch", file=self.file, leave=False, dynamic_ncols=True,
                        bar_format="{desc}")  # the whole line is ours (line): tqdm only redraws it
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def line(self, tally: Tally) -> str:
        """``<desc> | <trained>/<planned> epochs | <describe>``."""
        return f"{self.desc} | {tally.trained}/{tally.planned} epochs | {describe(tally)}"

    def update(self) -> Tally:
        """Read the log and redraw the line where it changed; returns the tally."""
        tally = Tally.read(self.log)
        self.bar.total, self.bar.n = tally.planned, tally.trained
        text = self.line(tally)
        if text != self._shown:
            self._shown = text
            self.bar.set_description_str(text, refresh=True)
        return tally

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.update()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.update()
        self.bar.close()
        if self._saved is None:
            os.environ.pop(EPOCH_LOG_ENV, None)
        else:
            os.environ[EPOCH_LOG_ENV] = self._saved
