"""Which runs a row of the claims ledger reads: its regime as data (``RowRegime``), the seeds it reads there
(``regime_seeds``), and its width-64 progress. The ledger's long regime text and the compact table's few words are
both written from the one ``RowRegime``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..paths import seed_of
from .catalogue import MIN_WIDE_SEEDS, WIDE_REGIME, Claim, CLAIMS
from .measures import Seed
from .planning import CONFIRMATORY


@dataclass(frozen=True)
class RowRegime:
    """The regime a row reads: width 64 (``wide``), width 16 while it waits for ``waited`` width-64 seeds of which
    ``done`` have finished, width 16 for a stated reason (``why``), or the original's published runs
    (``original``: a row computed from its CSVs)."""
    wide: bool = False
    original: bool = False
    why: str = ""                 # why a row is not read at width 64 (``Claim.regime_note``)
    done: int | None = None       # while it waits: its width-64 seeds finished so far
    waited: int | None = None     # and how many it waits for

    @property
    def text(self) -> str:
        """The ledger's ``regime`` column: the whole text (why, and how many seeds)."""
        if self.wide:
            return WIDE_REGIME
        if self.original:
            return "the original's (its published runs)"
        if self.waited is not None:
            return f"width 16 until {self.waited} width-64 seeds finish ({self.done} so far)"
        return self.why

    @property
    def short(self) -> str:
        """The compact table's few words: ``width 64``, ``width 16``, ``width 16 (k of N width-64 seeds)`` or
        ``the original's runs``."""
        if self.wide:
            return "width 64"
        if self.waited is not None:
            return f"width 16 ({self.done} of {self.waited} width-64 seeds)"
        return "the original's runs" if self.original else "width 16"


def confirmatory(folders: list[Path | str], profile: str) -> list[Path]:
    """The seed folders of ``folders`` that the regime of ``profile`` fixed as its confirmatory seeds
    (``planning.CONFIRMATORY``); every folder for a profile without a fixed design (``smoke``, ``paper``)."""
    design = CONFIRMATORY.get(profile)
    return [Path(f) for f in folders if design is None or seed_of(Path(f)) in design.seeds]


def regime_seeds(c: Claim, folders: list[Path | str], wide: list[Path | str] | None,
                 min_wide: int = MIN_WIDE_SEEDS) -> tuple[RowRegime, list[Seed], str, Callable[[Seed], float]]:
    """Which runs row ``c`` reads: (regime, seeds, measure, value). The width-64 (``wide``) seeds that finished
    every experiment it needs there, once there are ``min_wide`` of them and the row has a ``WideReading`` (a
    reading with seeds of its own, a study fixed before it ran, waits for all of them); else the ``folders`` (width
    16 at the quick profile) with a regime saying why."""
    if c.kind == "table":
        return RowRegime(original=True), [], c.measure, c.value
    if c.wide is not None and wide:
        done, enough = wide_progress(c, wide, min_wide)
        if len(done) >= enough:
            return RowRegime(wide=True), done, c.wide.measure or c.measure, c.wide.value or c.value
        regime = RowRegime(done=len(done), waited=enough)
    else:
        regime = RowRegime(why=c.regime_note())
    seeds = [Seed(Path(f)) for f in folders]
    return regime, [s for s in seeds if c.needs and all(s.has(e) for e in c.needs)], c.measure, c.value


def wide_progress(c: Claim, wide: list[Path | str], min_wide: int = MIN_WIDE_SEEDS) -> tuple[list[Seed], int]:
    """Row ``c``'s width-64 progress: the seeds of ``wide`` (its study's own seeds where it has them) that finished
    every experiment it needs there, and how many it waits for (its study's seeds, else ``min_wide``)."""
    needs = c.wide.needs or c.needs
    pool = [Path(f) for f in wide if c.wide.seeds is None or seed_of(Path(f)) in c.wide.seeds]
    done = [s for s in (Seed(f) for f in pool) if all(s.has(e) for e in needs)]
    return done, len(c.wide.seeds) if c.wide.seeds is not None else min_wide


def finished_wide_seeds(wide: list[Path | str]) -> int:
    """How many width-64 seed folders of ``wide`` have finished every experiment that the four experiments' rows
    read there (the count ``regime_seeds`` compares with ``MIN_WIDE_SEEDS``; a study with seeds of its own is left
    out)."""
    needs = {e for c in CLAIMS if c.wide is not None and c.wide.seeds is None for e in (c.wide.needs or c.needs)}
    return sum(all(Seed(Path(f)).has(e) for e in needs) for f in wide)
