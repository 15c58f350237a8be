"""Claim by claim, whether the verdict moves between width 16 and width 64: each row the width-64 runs can read,
at both widths (unadjusted readings), and the count in one sentence."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .catalogue import CLAIM, CLAIMS, WIDE_REGIME
from .claims import ledger
from .row_regime import wide_progress


def regime_moves(folders: list[Path | str], wide: list[Path | str], profile: str,
                 original: Path | str | None = None, speed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Claim by claim, for each row the width-64 runs can read (a ``WideReading``): its reading at width 16 (the
    ``folders``) and at width 64 (every finished ``wide`` seed, however few), unadjusted, and whether the verdict
    moves. With fewer than 2 width-64 seeds no interval exists there, and the row says so; a study with seeds of its own
    (``WideReading.seeds``) says how many of them have finished."""
    w16 = ledger(folders, profile, original, speed)
    w64 = ledger(folders, profile, original, speed, wide=wide, min_wide=1)
    keys = [c.key for c in CLAIMS if c.wide is not None]
    rows = []
    for k in keys:
        a, b = w16.loc[k], w64.loc[k]
        read64 = b["regime"] == WIDE_REGIME
        study = CLAIM[k].wide.seeds is not None
        if study and not read64:  # a study with seeds of its own: how many of them have finished
            done, enough = wide_progress(CLAIM[k], wide)
            moved = f"not yet: {len(done)} of its {enough} width-64 seeds finished"
        elif not read64 or b["n"] < 2:
            moved = f"not yet: {int(b['n']) if read64 else 0} width-64 seed(s) finished"
        else:
            ra, rb = a["reading (unadjusted)"], b["reading (unadjusted)"]
            moved = f"yes: {ra} -> {rb}" if ra != rb else "no"
        rows.append({"claim": a["claim"], "width 16: per seed": a["per seed"], "width 16: ours": a["ours"],
                     "width 16: reading": a["reading (unadjusted)"],
                     "width 64: per seed": b["per seed"] if read64 else "", "width 64: ours":
                         b["ours"] if read64 else "not run", "width 64: reading": b["reading (unadjusted)"] if read64 else "",
                     "measured at width 64": b["measured"] if read64 else "", "moved": moved})
    return pd.DataFrame(rows, index=keys)


def moves_text(moves: pd.DataFrame) -> str:
    """How many rows the width-64 runs read, how many can be compared (2 seeds or more) and how many verdicts moved,
    in one sentence."""
    comparable = ~moves["moved"].str.startswith("not yet")
    moved = moves["moved"].str.startswith("yes")
    text = (f"{len(moves)} rows can be read from the width-64 runs; {int(comparable.sum())} of them have the two or "
            f"more width-64 seeds an interval needs")
    if comparable.any():
        text += (f", and {int(moved.sum())} of those change verdict between width 16 and width 64" +
                 (f" ({'; '.join(moves.loc[moved, 'claim'] + ': ' + moves.loc[moved, 'moved'].str[5:])})"
                  if moved.any() else ""))
    return text
