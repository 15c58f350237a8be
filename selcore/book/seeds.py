"""The claims chapter's seed plans: from the first three seeds of each regime, the seeds each inconclusive row needs
(``report.next_seeds.seed_plan``), written once into the regime's results folder before any further seed runs and read
back unchanged afterwards (the rule on book/plans.md)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from ..paths import seed_plan_path
from ..profiles import results_dir
from ..report import catalogue, next_seeds, row_regime
from .page import table
from .timing import measured_once

CAPS = {"quick": 10, "wide": 6}
"""The most seeds a regime's plan may ask for (the plans page: width 16 up to 10, width 64 up to 6)."""


def _today() -> str:
    return dt.datetime.now(dt.timezone.utc).date().isoformat()


def width16_plan(ledger: pd.DataFrame, results_root: str | Path) -> pd.DataFrame:
    """The plan for the rows that rest on width 16 for good (no ``WideReading``), from the quick profile's seeds in
    ``ledger``; written to ``results/quick/seed_plan.csv`` the first time, read from there afterwards."""
    keys = [c.key for c in catalogue.CLAIMS if c.wide is None]
    return measured_once(seed_plan_path(results_dir("quick", results_root)),
                         lambda: next_seeds.seed_plan(ledger, CAPS["quick"], _today(), keys))


def wide_plan(ledger: pd.DataFrame, results_root: str | Path) -> pd.DataFrame | None:
    """The plan for the rows read from the width-64 runs, from their first three seeds (``ledger``: the quick
    profile's ledger with the width-64 folders); written to ``results/wide/seed_plan.csv`` once every such row rests
    on width 64 (None before), read from there afterwards."""
    path = seed_plan_path(results_dir("wide", results_root))
    keys = [c.key for c in catalogue.CLAIMS if c.wide is not None and c.wide.seeds is None]
    if not path.exists() and not (ledger.loc[keys, "regime"] == catalogue.WIDE_REGIME).all():
        return None
    return measured_once(path, lambda: next_seeds.seed_plan(ledger, CAPS["wide"], _today(), keys))


def planned_keys(results_root: str | Path) -> set[str]:
    """The ledger rows that a written seed plan (either regime's) has given seeds."""
    paths = [seed_plan_path(results_dir(p, results_root)) for p in CAPS]
    return {k for path in paths if path.exists() for k in pd.read_csv(path)["key"]}


def next_step(row: pd.Series, key: str) -> str:
    """What happens next to an inconclusive ledger ``row`` (claim ``key``): where 80% power needs more seeds than
    its regime's cap, 'not decidable at a practical n in this regime'; where a new study with its own fixed seeds
    reads it (``planning.StudyPlan``), that study; else the seeds 80% power asks for, which run only under a
    group-sequential rule written before they run (none is written) or as a new, separately labelled study."""
    cap = CAPS["wide" if row["regime"] == catalogue.WIDE_REGIME else "quick"]
    need = row["seeds to decide, next runs"]
    wide = catalogue.CLAIM[key].wide
    if wide is not None and wide.seeds is not None and row["regime"] != catalogue.WIDE_REGIME:
        return (f"a new study reads it: {wide.measure} ({len(wide.seeds)} seeds for 80% power, fixed before they "
                "ran; report.planning)")
    if pd.isna(need) or need > cap:
        return f"not decidable at a practical n in this regime (more than its cap of {cap} seeds)"
    return (f"stays open at its fixed n: {int(need)} seeds would give 80% power, and more seeds run only under a "
            "group-sequential rule written before they run (none is written)")


def power_table(ledger: pd.DataFrame) -> pd.DataFrame:
    """``next_seeds.power_table`` with each row's next step (``next_step``), as the claims chapter shows it."""
    out = next_seeds.power_table(ledger)
    out["next"] = [next_step(ledger.loc[k], k) for k in out.index]
    return out


def progress(plan: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """``plan`` as written, with where each of its rows stands in ``ledger`` (this execution's): ``n, this
    execution`` and ``reading, this execution``, unadjusted, just before the plan's ``then``."""
    rows = ledger.loc[plan["key"]]
    out = plan.copy()
    at = out.columns.get_loc("then")  # beside the seeds the plan asked for, before its long 'then' text
    out.insert(at, "reading, this execution", rows["reading (unadjusted)"].to_numpy())
    out.insert(at, "n, this execution", rows["n"].astype(int).to_numpy())
    return out


def plan_table(plan: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """``progress(plan, ledger)`` as the chapter shows it: a row per claim with the plan's key columns (n and
    per-seed values when it was written, the seeds to decide, how many more it ran, the n and unadjusted reading of
    this execution, then what the plan expected). The regime and the date, the same for every row, go to the
    caption (``show``)."""
    shown = progress(plan, ledger)
    return shown.rename(columns={"n now": "n when written", "per seed": "per seed when written"})[
        ["claim", "n when written", "per seed when written", "seeds to decide", "more seeds to run",
         "n, this execution", "reading, this execution", "then"]]


def show(ledger: pd.DataFrame, wide: list, results_root: str | Path, profile: str) -> list:
    """Both plans as the claims chapter shows them (a numbered table each, or a line saying why there is none);
    the quick profile's chapter writes them (``ledger``: its ledger, read with the width-64 folders ``wide``),
    another profile's shows none."""
    if profile != "quick":
        return [Markdown(f"Seed plans are made from the quick and wide profiles' runs; this is profile {profile}.")]
    out = []
    wide_done = row_regime.finished_wide_seeds(wide)
    for name, plan in (("width 16", width16_plan(ledger, results_root)),
                       ("width 64", wide_plan(ledger, results_root) if wide else None)):
        if plan is None:
            out.append(Markdown(f"The {name} plan is not written yet: {wide_done} of {catalogue.MIN_WIDE_SEEDS} "
                                "width-64 seeds have finished every experiment."))
        elif plan.empty:
            out.append(Markdown(f"The {name} plan has no row: no inconclusive row rests on {name}."))
        else:
            out.append(table(plan_table(plan, ledger).style.hide(axis="index"),
                             f"The {name} seed plan, written on {plan['written'].iloc[0]} before any further seed "
                             "ran: per claim, the seeds its interval would need under the rule for the next runs "
                             "(unadjusted), and how many more seeds to run for it (none where that exceeds "
                             f"{CAPS['quick' if name == 'width 16' else 'wide']}); then, from this execution's "
                             "ledger, the n the claim's row now reads and its verdict (unadjusted)."))
    return out
