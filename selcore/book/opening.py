"""The opening finding of an experiment chapter, written for the runs the execution has: its sentence
(``<name>_finding_text``), its figure (``<name>_finding_fig``) and that figure's caption (``<name>_finding_caption``).

The sentence leads with the width-64 runs (profile ``wide``) where they have finished and the chapter runs its
profile's own configuration, and adds the chapter's own runs after them; a rerun with other parameters, or one with
no finished width-64 run, speaks of its own runs only: their profile, the parameters it changed by name, their n, and
one run as one value (no interval). The figure draws the runs the sentence leads with, and its caption says which
seeds it draws.
"""
from __future__ import annotations

from pathlib import Path

from ..registry import BASELINE, spec
from ..report import plots
from ..report.stats import NONNEGATIVE, PERCENT, PP, format_ci, mean_ci
from ..report.summary import PUBLISHED
from .chapter import ChapterRuns, finished_runs, glue_figure, paired_measures
from .finding import glue



def subject(name: str) -> str:
    """How an experiment's finding names it: the original's system name for its four, else its registry title."""
    return str(PUBLISHED.loc[name, "System"]) if name in PUBLISHED.index else spec(name).title


def _stat(values: list[float], bounds) -> str:
    c = mean_ci(values, bounds=bounds)
    return format_ci(c["mean"], c["lo"], c["hi"])


def where_text(runs: ChapterRuns) -> str:
    """Which runs a sentence speaks of: the regime, the profile, the parameters changed by name, and n (one run:
    its seed)."""
    width, pretrained = runs.cfg.width, runs.cfg.pretrained
    parts = [f"ResNet-18 at width {width} {'from ImageNet weights' if pretrained else 'from scratch'}",
             f"profile {runs.profile or runs.tag}"]
    parts += [f"{k} = {v}" for k, v in runs.changed.items()]
    n = len(runs.histories)
    parts.append(f"n = {n} seeds" if n > 1 else f"one run, seed {runs.first}")
    return ", ".join(parts)


def measures(runs: ChapterRuns) -> str:
    """What ``runs`` reached: held-out accuracy, and against the Baseline of the same seed (where one finished in
    their results folders) the accuracy difference and the executed and proxy FLOPs as shares of its; the Baseline
    itself: its executed and proxy training FLOPs."""
    last = {s: h.iloc[-1] for s, h in runs.histories.items()}
    acc = _stat([r["test_100"] for r in last.values()], PERCENT)
    name = subject(runs.name)
    if runs.name == BASELINE:
        return (f"{name} classifies {acc}% of the held-out images after "
                f"{_stat([r['exec_flops_T'] for r in last.values()], NONNEGATIVE)} T executed training FLOPs, where "
                f"the original's proxy counts {_stat([r['flops_T'] for r in last.values()], NONNEGATIVE)} T")
    base = runs.others(BASELINE)
    paired = [s for s in last if s in base]
    if not paired:
        return f"{name} classifies {acc}% of the held-out images (no Baseline of the same seed has finished here)"
    m = paired_measures({s: last[s] for s in paired}, {s: base[s].iloc[-1] for s in paired})
    diff, exe, proxy = _stat(m["acc"], PP), _stat(m["exec"], NONNEGATIVE), _stat(m["proxy"], NONNEGATIVE)
    return (f"{name} classifies {acc}% of the held-out images, {diff} percentage points against the Baseline of "
            f"the same seed, and executes {exe}% of the Baseline's training FLOPs, where the original's proxy "
            f"claims {proxy}%")


def statistic_note(*run_sets: ChapterRuns) -> str:
    """How the numbers are stated: mean [95% interval] over the seeds, or single values for one run."""
    many = any(len(r.histories) > 1 for r in run_sets)
    return "mean [95% interval] over the seeds; a value without one has no spread" if many else "one run each"


def finding_text(runs: ChapterRuns, wide: ChapterRuns | None) -> str:
    """The chapter's opening sentence for ``runs`` (its own) and ``wide`` (the width-64 runs where they lead)."""
    if wide is not None:
        return (f"At the paper's width ({where_text(wide)}) {measures(wide)}; in this chapter's own runs "
                f"({where_text(runs)}) {measures(runs)} ({statistic_note(wide, runs)}).")
    return f"In this execution ({where_text(runs)}) {measures(runs)} ({statistic_note(runs)})."


def caption(runs: ChapterRuns) -> str:
    """The finding figure's caption: what it draws and over which seeds."""
    name = subject(runs.name)
    beside = "" if runs.name == BASELINE else " beside the Baseline of the same seed"
    n = len(runs.histories)
    drawn = (f"the mean over seeds {', '.join(map(str, runs.histories))} (line) and the range between them (band)"
             if n > 1 else f"one run, seed {runs.first} (no band)")
    return f"Held-out accuracy per epoch of {name}{beside}, {where_text(runs).split(', n = ')[0]}: {drawn}."


def glue_finding(runs: ChapterRuns, results_root: str | Path = "results") -> None:
    """Glue ``<name>_finding_text``, ``<name>_finding_fig`` and ``<name>_finding_caption`` for the chapter's
    ``runs``: led by the width-64 runs where they have finished, the chapter is not itself at profile ``wide`` and
    runs its profile's own configuration; else by its own runs."""
    wide = None if runs.changed or runs.profile == "wide" else finished_runs(runs.name, "wide", results_root)
    lead = wide if wide is not None else runs
    glue(f"{runs.name}_finding_text", finding_text(runs, wide))
    base = lead.others(BASELINE) if lead.name != BASELINE else {}
    per_seed = [{lead.name: h, **({BASELINE: base[s]} if s in base else {})} for s, h in lead.histories.items()]
    glue_figure(f"{runs.name}_finding_fig", plots.accuracy_held_out(per_seed))
    glue(f"{runs.name}_finding_caption", caption(lead))

