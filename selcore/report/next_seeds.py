"""The next seeds of a ledger's open rows: the power table behind each inconclusive row and the seed plan fixed
before those seeds run (``planning`` holds the n each regime's verdicts read)."""

from __future__ import annotations

import pandas as pd

from .catalogue import CLAIM, margin_text
from .stats import format_number


def power_table(table: pd.DataFrame) -> pd.DataFrame:
    """The power calculation behind each inconclusive tested row (Holm's reading): the per-seed standard deviation,
    the margin it is computed against (the rule's threshold and the true value the claim assumes) and the seeds for
    80% power (``Rule.seeds_needed``), under the rule that read these runs and under the one that would read new
    ones (a revised rule)."""
    rows = table[(table["reading"] == "inconclusive at this n") & (table["n"] >= 2)]
    return pd.DataFrame({"measured": rows["measured"], "n": rows["n"].astype(int),
                         "per-seed SD": [format_number(v, 2) for v in rows["sd"]],
                         "margin": [margin_text(CLAIM[k]) for k in rows.index],
                         "seeds for 80% power": [_seeds(v) for v in rows["seeds to decide"]],
                         "under the rule for new runs": [_seeds(v) for v in rows["seeds to decide, next runs"]]},
                        index=rows.index)


def _seeds(v) -> str:
    return str(int(v)) if not pd.isna(v) else "> 1000"


PLAN_COLUMNS = ["key", "claim", "regime", "n now", "per seed", "seeds to decide", "more seeds to run", "then",
                "written"]
"""The columns of a seed plan (``seed_plan``), in order."""


def seed_plan(table: pd.DataFrame, cap: int, date: str, keys: list[str] | None = None) -> pd.DataFrame:
    """The seeds each inconclusive tested row of ``table`` (those of ``keys``, default all) gets next, fixed on
    ``date`` before they run: the power calculation's n under the rule for the next runs (``seeds to decide, next
    runs``, on the unadjusted interval, mean and spread as measured), how many more seeds to run for it (none where
    that n exceeds ``cap``), and what the row then is. A row whose rule was revised for runs started from a date
    (``Revision`` without a timing) is read by the new rule on those runs alone, so all its n seeds are new ones."""
    rows = table[(table["verdict"] == "inconclusive at this n") & (table["n"] >= 2)]
    rows = rows if keys is None else rows[rows.index.isin(keys)]
    out = []
    for key, r in rows.iterrows():
        need, rev = r["seeds to decide, next runs"], CLAIM[key].revision
        fresh = rev is not None and rev.values is None and r["rule applied"] == "original"
        fits = not pd.isna(need) and int(need) <= cap
        more = (int(need) if fresh else max(0, int(need) - int(r["n"]))) if fits else 0
        then = (f"stays open: needs {_seeds(need)} seeds, above the cap of {cap}" if not fits else
                f"decided at n = {int(need)} if mean and spread hold" +
                (f" (the rule revised {rev.date} reads only runs started since: all {int(need)} are new seeds)"
                 if fresh else ""))
        out.append({"key": key, "claim": r["claim"], "regime": r["regime"], "n now": int(r["n"]),
                    "per seed": r["per seed"], "seeds to decide": _seeds(need), "more seeds to run": more,
                    "then": then, "written": date})
    return pd.DataFrame(out, columns=PLAN_COLUMNS)  # the header even where no row is open: the file says so
