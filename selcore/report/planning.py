"""Seed counts fixed before the runs they read: each regime's confirmatory seeds, and the power calculations of new
studies (``StudyPlan``), written down and committed before their first run.

A verdict reads the confirmatory seeds of its regime only (``CONFIRMATORY``): a seed folder added later changes no
verdict by itself. More seeds for a row run only under a group-sequential rule written before they run, or as a new
study with a plan of its own here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .power import seeds_for_power


@dataclass(frozen=True)
class Confirmatory:
    """A regime's confirmatory design: the seeds a verdict reads (``seeds``; a row reads those of them that
    finished its experiments) and the date they were fixed on; ``note`` says which runs existed then."""
    regime: str
    seeds: tuple[int, ...]
    fixed: str
    note: str


CONFIRMATORY = {
    "quick": Confirmatory("width 16 (quick)", (42, 43, 44, 45, 46, 47, 48), "2026-12-07",
                          "every quick seed folder committed on that date: seeds 42-44 ran every experiment, 45-48 "
                          "the rows the width-16 seed plan gave them"),
    "wide": Confirmatory("width 64 (wide)", (42, 43, 44, 45, 46, 47), "2026-12-07",
                         "the six width-64 seeds committed on that date, each with the four experiments"),
}
"""Each regime's confirmatory seeds, fixed on 2026-12-07 as the seeds already run then (book/plans.md)."""


@dataclass(frozen=True)
class StudyPlan:
    """A new study's seed count from a power calculation written before it runs: ``experiment`` at ``profile``
    read by the rule ``rule`` (text) on the interval's scale ``scale``; if the true value were ``assumed`` the
    test would clear the threshold by ``margin`` (on that scale); ``sd`` is the per-seed standard deviation there
    and ``sd_source`` says where it comes from. ``n`` = ``seeds_for_power(margin, sd)`` at ``POWER``; ``seeds``
    are the first ``n`` of the regime's."""
    key: str
    experiment: str
    profile: str
    measure: str
    rule: str
    scale: str
    assumed: str
    margin: float
    sd: float
    sd_source: str
    seeds: tuple[int, ...]
    written: str

    @property
    def n(self) -> int | None:
        """Seeds for ``POWER`` (``power.seeds_for_power``)."""
        return seeds_for_power(self.margin, self.sd)


COMMUNICATION_WIDE = StudyPlan(
    key="communication", experiment="ddp_sel", profile="wide",
    measure="data-parallel SEL-95 (2 workers) at width 64: bytes a worker sent, saved vs the dense all-reduce, %",
    rule=">= 50", scale="log of 100 - x (the interval's scale for a share saved)",
    assumed="a true saving of 80%, below every width-64 estimate (91.6 to 97.8%, an upper bound) because a "
            "worker's half-batch gradient keeps more entries",
    margin=math.log(50.0) - math.log(20.0),
    sd=0.4704,
    sd_source="the per-seed SD of the width-64 estimate (seeds 42-47) on that scale",
    seeds=(42, 43, 44, 45, 46), written="2026-12-07")
"""The width-64 communication study: 5 seeds for 80% power (0.895 at n = 5, 0.735 at n = 4), fixed before any
width-64 data-parallel run. With the width-16 measured SD (0.81) it would need 9: the plan states that risk."""
