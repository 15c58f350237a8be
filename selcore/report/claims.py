"""The claims ledger: each claim of the catalogue, our measurement over seeds, and a verdict computed from the
numbers by its rule (nothing typed by hand).

The family: every row read by a test. Holm's adjustment over it (``stats.holm``, each row's smaller one-sided
p-value at 2.5%: a family-wise error of at most 5%) gives the primary reading; the unadjusted one is labelled so.
A row reads its regime's confirmatory seeds only (``planning.CONFIRMATORY``), so a seed folder added later changes
no verdict.

The reading says what holds in the regime that ran. The verdict on the original's claim equals it only where a
regime this book ran can decide the claim (``rules.Decidable``); elsewhere it is "needs the original's regime". Rows
not read by a test say what they are instead: withdrawn as confounded (the measure cannot separate the claim from its
own construction), computed from the original's own CSVs (its Full-test column, the equal-compute question), or an
implementation check of a planned feature we built (its target met by construction).
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..config import EXPERIMENTS
from ..paths import seed_of
from .catalogue import MIN_WIDE_SEEDS, CLAIMS, CLAIM, DIFFERS_FROM_ZERO
from .original_rows import equal_compute_reading, original_full_test
from .row_regime import confirmatory, regime_seeds
from .rules import TESTED, ORIGINAL_REGIME, WITHDRAWN, VERDICTS, KINDS, SIDE, Rule, decide
from .stats import Bounds, format_ci, format_number, holm, mean_ci


def difference_reading(s: dict) -> str:
    """How ``s`` = mean_ci(paired differences) reads under ``DIFFERS_FROM_ZERO``: the interval excludes zero,
    includes it, or (fewer than 2 values) does not exist."""
    if s["n"] < 2 or pd.isna(s["lo"]):
        return "with one seed no interval can be given"
    if DIFFERS_FROM_ZERO.verdict(s) == "confirmed":
        return "the interval excludes zero"
    return "the interval includes zero: no difference is shown at this n"


def unit_of(measured: str) -> str:
    """The unit a ``measured`` text names after a comma (``... saved vs Baseline, %`` -> ``%``, ``..., pp`` ->
    `` pp``), as a suffix for a value; empty where it names none."""
    m = re.search(r",\s*(%|pp)(,|$)", measured)
    return "" if m is None else ("%" if m[1] == "%" else " pp")


def with_unit(text: str, unit: str) -> str:
    """``text`` (a value, or a value and its interval) with ``unit`` after the value and after the interval:
    ``64.5%``, ``97.0 [95.5, 98.4]%``, ``2.7 [-1.2, 6.6] pp``."""
    return text + unit if unit and text and text[0] in "-0123456789" else text


def rule_text(rule: Rule, bounds: Bounds) -> str:
    """``rule.describe()``, and what a band reaching past its quantity's range means in effect (``within 95 +- 5``
    on a 0-100 share is ``>= 90``)."""
    text = rule.describe()
    if rule.kind == "near" and bounds.upper is not None and rule.value + rule.tol >= bounds.upper:
        text += f" (in effect >= {rule.value - rule.tol:g}: the range ends at {bounds.upper:g})"
    return text


def ledger(folders: list[Path | str], profile: str, original: Path | str | None = None,
           speed: pd.DataFrame | None = None, wide: list[Path | str] | None = None,
           min_wide: int = MIN_WIDE_SEEDS) -> pd.DataFrame:
    """One row per claim: what it is, the regime its runs come from, the original's figure, our per-seed values, n,
    their mean [95% interval inside the measure's range] and how that interval was computed, the rule, the one-sided
    p-value, Holm's adjusted p-value over the tested rows, and three readings:

    * ``reading``: what the rule says of our runs, in the regime they ran (Holm's, the primary one;
      ``reading (unadjusted)`` beside it);
    * ``verdict``: the verdict on the original's claim: the reading where a regime here can decide the claim
      (``Claim.decidable``), else ``ORIGINAL_REGIME`` (``verdict (unadjusted)`` beside it);
    * ``decidable here``: yes or no, with the evidence.

    Only each regime's confirmatory seeds are read (``confirmatory``, ``planning.CONFIRMATORY``): a seed folder
    added later changes no verdict. A row with a ``WideReading`` reads the width-64 seed folders ``wide`` once
    ``min_wide`` of them have finished what it needs (``regime_seeds``); every other row reads ``folders``. A claim
    whose experiments are missing reads 'inconclusive at this n' with n=0. The rows of kind ``table`` are computed
    from the original's CSVs (``original``); a revision that reads a controlled timing reads ``speed``
    (``studies.bench.speed_comparison``) when it was made on or after the revision's date. The power calculation
    (``seeds to decide``) is 80% against the rule's margin (``Rule.seeds_needed``)."""
    folders, wide = confirmatory(folders, profile), confirmatory(wide or [], "wide")
    rows = []
    for c in CLAIMS:
        where, ran, measure, value = regime_seeds(c, folders, wide, min_wide)
        regime = where.text
        if c.revision and c.revision.values is not None:  # it reads a timing, not the runs' own clocks
            timed = speed is not None and not speed.empty and str(speed["time_utc"].min())[:10] >= c.revision.date
            rule = c.revision.rule if timed else c.rule
            before = [value(s) for s in ran]
            vals = c.revision.values(ran, speed) if timed else before
            measure, revised = c.revision.measure if timed else measure, timed
        else:  # a revision for runs from a date reads those runs alone, once there are any
            new, old = c.new_runs(ran)
            ran, revised = new or ran, bool(new)
            rule = c.revision.rule if revised else c.rule
            vals = [value(s) for s in ran]
            before = [value(s) for s in old] if new else vals
            if new:
                regime += (f"; the runs started since {c.revision.date} (seeds "
                           f"{', '.join(str(seed_of(s.folder)) for s in new)})")
        st = mean_ci(vals, bounds=c.bounds)
        p_conf, p_ref = rule.pvalues(st)
        bound = [c.wide.bound(s) for s in ran] if where.wide and c.wide and c.wide.bound else []
        row = {"claim": c.claim, "kind": c.kind, "regime": regime, "regime, short": where.short, "original": c.original, "measured": measure,
               "per seed": ", ".join(format_number(v, 2) for v in vals), "n": st["n"],
               "ours": format_ci(st["mean"], st["lo"], st["hi"]) if st["n"] else "not run", "short": "",
               "interval": st["method"], "rule": ("full protocol only; " if c.paper_only else "") +
                                                 rule_text(rule, c.bounds),
               "beside": (f"{c.wide.bound_text}: " + format_ci(*(lambda b: (b["mean"], b["lo"], b["hi"]))(
                   mean_ci(bound, bounds=c.bounds)))) if bound else "",
               "revision": (f"{c.revision.date}: {c.rule.describe()} -> {c.revision.rule.describe()} for runs from "
                            f"then on ({c.revision.why})") if c.revision else "",
               "rule applied": f"revised {c.revision.date}" if revised else "original",
               "ours, before the revision": (lambda o: format_ci(o["mean"], o["lo"], o["hi"], o["n"]))(
                   mean_ci(before, bounds=c.bounds)) if revised and before is not vals and before else "",
               "p": min(p_conf, p_ref), "reading (unadjusted)": decide(p_conf, p_ref),
               "seeds to decide": rule.seeds_needed(st, c.assumed) if st["n"] >= 2 else None,
               "sd": st["std"], "distance": rule.distance(st["mean"]),
               "seeds to decide, next runs": (c.revision.rule if c.revision else rule).seeds_needed(st, c.assumed)
               if st["n"] >= 2 else None,
               "mean": st["mean"], "lo": st["lo"], "hi": st["hi"], "key": c.key,
               "decidable here": "yes" if c.decidable.here else "no", "evidence": c.decidable.evidence,
               "_confirm": p_conf <= p_ref if not pd.isna(p_conf) else None}
        if c.kind == "table":
            row.update(n=0, p=float("nan"), interval="computed from the original's CSVs, no training")
            if original is None or not Path(original).exists():
                row.update(**{"reading (unadjusted)": "inconclusive at this n"},
                           ours="the original's CSVs are not here")
            elif c.key == "equal_compute_original":
                found, short, verdict = equal_compute_reading(original)
                row.update(ours=found, short=short, **{"reading (unadjusted)": verdict},
                           n=1, rule="a dense run of the Baseline "
                           "with less executed compute matches it: refuted; none does: confirmed",
                           interval="one seed (the original's): no interval")
            else:
                count, detail = original_full_test(original)
                row.update(ours=f"{count} of {len(EXPERIMENTS)}: {detail}" if count else "0 of 4",
                           short=f"{count} of {len(EXPERIMENTS)} systems print another column",
                           **{"reading (unadjusted)": "a discrepancy in the original's published numbers" if count
                              else "confirmed"}, mean=float(count))
        elif c.withdrawn:
            row.update(**{"reading (unadjusted)": WITHDRAWN, "seeds to decide": None, "p": float("nan")},
                       evidence=c.withdrawn)
        elif c.paper_only and profile != "paper":
            row.update(**{"reading (unadjusted)": "not read: an absolute figure of the full protocol",
                          "seeds to decide": None}, p=float("nan"))
        elif c.check:
            row.update(**{"reading (unadjusted)": "an implementation check of a planned feature",
                          "seeds to decide": None}, p=float("nan"))
        rows.append(row)
    table = pd.DataFrame(rows).set_index("key")
    family = table["reading (unadjusted)"].isin(TESTED) & (table["n"] >= 2)
    adjusted = holm(table.loc[family, "p"])
    table["p (Holm)"] = float("nan")
    table.loc[family, "p (Holm)"] = adjusted
    table["reading"] = table["reading (unadjusted)"]
    for key in table.index[family]:
        p, confirm = table.loc[key, "p (Holm)"], table.loc[key, "_confirm"]
        table.loc[key, "reading"] = ("confirmed" if confirm else "refuted") if p <= SIDE else "inconclusive at this n"
    for col, src in (("verdict", "reading"), ("verdict (unadjusted)", "reading (unadjusted)")):
        table[col] = [r[src] if r["decidable here"] == "yes" or r[src] == WITHDRAWN else ORIGINAL_REGIME
                      for _, r in table.iterrows()]
    return table.drop(columns="_confirm")


def row_history(key: str, folders: list[Path | str], profile: str,
                wide: list[Path | str] | None = None) -> pd.DataFrame:
    """How row ``key``'s unadjusted reading moved as its seeds were added in seed order: per n from 2 to all its
    confirmatory seeds, the seeds read, mean [95% interval] and the reading. Shown openly: the verdict is the one
    at the fixed n, not any earlier look."""
    c = CLAIM[key]
    _, ran, _, value = regime_seeds(c, confirmatory(folders, profile), confirmatory(wide or [], "wide"))
    vals = [value(s) for s in ran]
    rows = []
    for n in range(2, len(vals) + 1):
        st = mean_ci(vals[:n], bounds=c.bounds)
        rows.append({"n": n, "seeds": ", ".join(str(seed_of(s.folder)) for s in ran[:n]),
                     "ours": format_ci(st["mean"], st["lo"], st["hi"]), "reading (unadjusted)": c.rule.verdict(st)})
    return pd.DataFrame(rows)


def family_text(table: pd.DataFrame) -> str:
    """The family the ledger adjusts for, in words."""
    family = table["p (Holm)"].notna()
    return (f"the {int(family.sum())} rows read by a test (every reading of a claim or a tested plan with at least "
            f"2 seeds, in the regime it ran), adjusted by Holm's step-down method at 2.5% per one-sided test (a "
            f"family-wise error of at most 5%)")


def counts(table: pd.DataFrame, column: str = "verdict") -> dict[str, dict[str, int]]:
    """Per kind of row (``KINDS``), how many rows have each verdict of ``column``."""
    return {kind: {v: int(((table["kind"] == kind) & (table[column] == v)).sum()) for v in VERDICTS}
            for kind in KINDS}


PHRASES = {ORIGINAL_REGIME: "needing the original's regime",
           WITHDRAWN: "withdrawn as confounded",
           "a discrepancy in the original's published numbers": "showing a discrepancy in the original's published "
                                                                 "numbers",
           "an implementation check of a planned feature": "an implementation check of a planned feature (its "
                                                           "target met by construction)"}
"""How ``counts_text`` writes a verdict after a count."""


def counts_text(table: pd.DataFrame) -> str:
    """The ledger's counts in one sentence: the original's claims a regime here can decide, by verdict (Holm's,
    the primary reading), how many wait for the original's regime or were withdrawn; the plans; the checks of the
    original's own CSVs."""
    def listing(c: dict) -> str:
        parts = [f"{k} {PHRASES.get(v, v)}" for v, k in c.items() if k]
        return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] if parts else "none"

    primary = counts(table)
    size = {kind: int((table["kind"] == kind).sum()) for kind in KINDS}
    claim = primary["claim"]
    decided = {v: k for v, k in claim.items() if v in TESTED}
    return (f"Of the original's {size['claim']} claims about its results, {sum(decided.values())} can be decided in a "
            f"regime this book ran: {listing(decided)} (after Holm's adjustment for multiple comparisons). {claim[ORIGINAL_REGIME]} need the "
            f"original's regime and {claim[WITHDRAWN]} was withdrawn as confounded. Of its {size['plan']} future "
            f"plans, which this book built: {listing(primary['plan'])}. From the original's own CSVs "
            f"({size['table']} checks): {listing(primary['table'])}.")


def counts_brief(table: pd.DataFrame) -> str:
    """The first sentence of ``counts_text`` alone, shorter: how many of the original's claims a regime here can
    decide and their verdicts (Holm's), how many need the original's regime or were withdrawn (the first page's
    abstract; the table below it gives the plans and the checks of the original's CSVs)."""
    claim = counts(table)["claim"]
    decided = {v: k for v, k in claim.items() if v in TESTED and k}
    listing = ", ".join(f"{k} {v}" for v, k in decided.items()) or "none"
    return (f"Of the original's {int((table['kind'] == 'claim').sum())} claims about its results, "
            f"{sum(decided.values())} can be decided here ({listing}, after Holm's adjustment for multiple "
            f"comparisons), {claim[ORIGINAL_REGIME]} need the original's regime and {claim[WITHDRAWN]} was withdrawn "
            f"as confounded. The table adds the {int((table['kind'] == 'plan').sum())} future plans this book built "
            f"and {int((table['kind'] == 'table').sum())} checks computed from the original's own CSVs.")


VERDICT_COLUMNS = ["claim", "original", "ours", "regime", "n", "reading", "verdict", "decidable here"]
"""The compact ledger's columns, key columns first (``ledger_view``)."""


def ledger_view(table: pd.DataFrame, conditions: str) -> tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The ledger as the claims chapter shows it: a sentence stating once what every row shares (``conditions``,
    such as the profile, hardware and data); a compact verdict table (``VERDICT_COLUMNS``: claim, the original's
    figure, ours (mean [95% interval], or the value where no seed varies it), regime in a few words
    (``RowRegime.short``), n, the reading in our regime and the verdict on the original's claim, both Holm's, and
    whether a regime here can decide it); each row's test (ours, per-seed values, one-sided p and Holm's p, the
    unadjusted reading, the rule); and what each row reads (the measured quantity, the whole regime text, what stands
    beside it, the evidence for ``decidable here``)."""
    def p_text(p):
        return "" if pd.isna(p) else format_number(p, sig=2)

    text = (f"Every row: {conditions}; ours is the mean [95% interval inside the measure's range] over the n seeds "
            f"whose values are listed in the detail (the interval is a t interval on the scale that maps the range "
            f"onto the whole line, the logit of a share or the log of a distance from a bound, transformed back, "
            f"while the printed mean is the plain mean; a value no seed varies is shown alone); the primary reading "
            f"and verdict are Holm's, over {family_text(table)}.")
    compact = table[VERDICT_COLUMNS].copy()
    compact["n"] = [int(n) if n else "–" for n in compact["n"]]  # nothing averaged: no n
    compact["regime"] = table["regime, short"]
    compact["ours"] = [r["short"] or with_unit((f"{r['ours'].split(' [')[0]}" if r["lo"] == r["hi"] else r["ours"])
                                               if r["n"] >= 2 else r["ours"], unit_of(r["measured"]))
                       for _, r in table.iterrows()]
    tests = pd.DataFrame({"claim": table["claim"], "ours": table["ours"], "per seed": table["per seed"],
                          "p": [p_text(p) for p in table["p"]], "p (Holm)": [p_text(p) for p in table["p (Holm)"]],
                          "reading (unadjusted)": table["reading (unadjusted)"], "rule": table["rule"]})
    reads = table[["claim", "measured", "regime", "beside", "evidence"]].copy()
    return text, compact, tests, reads
