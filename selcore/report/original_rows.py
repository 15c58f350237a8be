"""The ledger rows computed from the original's own CSVs: its README's Full-test figures against its runs' last rows,
and whether a shorter dense run of its Baseline matches each system at less executed compute."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import EXPERIMENTS
from ..paths import csv_path
from .protocol import original_equal_compute
from .summary import PUBLISHED, read_history


def original_full_test(original: Path | str) -> tuple[int, str]:
    """The original README's Full-test figures against its own CSVs' last rows (``original``, a folder of
    ``hist_<name>.csv``): how many of the four systems print a Full-test figure other than their CSV's full-test
    accuracy (rounded to the README's one decimal), and per such system what was printed, the full-test and the
    100/class accuracy."""
    found = []
    for e in EXPERIMENTS:
        last = read_history(csv_path(original, e)).iloc[-1]
        printed, full, held = PUBLISHED.loc[e, "Full test"], float(last["test_full"]), float(last["test_100"])
        if abs(printed - round(full, 1)) > 0.05:
            found.append(f"{PUBLISHED.loc[e, 'System']} prints {printed:.1f}, its CSV's full test is {full:.2f} and "
                         f"its 100/class {held:.2f}")
    return len(found), "; ".join(found)


def equal_compute_reading(original: Path | str) -> tuple[str, str, str]:
    """The equal-compute row from the original's runs (``protocol.original_equal_compute``, read once): (what it
    found per system, the same in a few words for a table cell, its verdict): refuted when a shorter dense run of the
    original's Baseline matches every system at less executed compute, confirmed when none does."""
    t = original_equal_compute(original)
    parts, short, beaten = [], [], 0
    for _, r in t.iterrows():
        if pd.isna(r["Baseline epochs to match"]):
            parts.append(f"{r['system']} {r['held-out %']:.1f}% at {r['FLOPs, % of Baseline']:.1f}%: no Baseline "
                         f"epoch matches it")
            short.append(f"{r['system']}: no dense epoch matches it")
            continue
        k = int(r["Baseline epochs to match"])
        beaten += r["their FLOPs, % of Baseline"] < r["FLOPs, % of Baseline"]
        parts.append(f"{r['system']} {r['held-out %']:.1f}% at {r['FLOPs, % of Baseline']:.1f}% of the Baseline's "
                     f"FLOPs ({r['time (s)']:.0f} s); Baseline epoch {k}: {r['Baseline held-out % then']:.1f}% at "
                     f"{r['their FLOPs, % of Baseline']:.1f}% ({r['their time (s)']:.0f} s)")
        short.append(f"{r['system']}: {k} dense epoch{'s' if k > 1 else ''} ({r['their FLOPs, % of Baseline']:.1f}% "
                     f"vs {r['FLOPs, % of Baseline']:.1f}% of the FLOPs)")
    verdict = "refuted" if beaten == len(t) else "confirmed" if beaten == 0 else "inconclusive at this n"
    return "; ".join(parts), "; ".join(short), verdict
