"""An experiment chapter's opening finding speaks of the runs it has (the verdicts and reader issues): the width-64
runs first where they lead, else the execution's own runs with their profile, changed parameters and n; one run is
one value, never an interval; the figure's caption says which seeds it draws. On the committed runs."""
import dataclasses

from selcore.book import opening
from selcore.book.chapter import finished_runs
from tests.conftest import REPO

RESULTS = REPO / "results"


def _one_seed(runs, seed=42, **changed):
    keep = {seed}
    pick = lambda d: {k: v for k, v in d.items() if k in keep}  # noqa: E731
    return dataclasses.replace(runs, configs=pick(runs.configs), histories=pick(runs.histories),
                               run_info=pick(runs.run_info), folders=pick(runs.folders), changed=changed, tag="",
                               profile="smoke")


def test_the_finding_leads_with_the_width_64_runs_and_states_each_n():
    quick, wide = finished_runs("sel95", "quick", RESULTS), finished_runs("sel95", "wide", RESULTS)
    text = opening.finding_text(quick, wide)
    assert text.startswith(f"At the paper's width (ResNet-18 at width 64 from scratch, profile wide, n = "
                           f"{len(wide.histories)} seeds) SEL-95% classifies")
    assert f"profile quick, n = {len(quick.histories)} seeds" in text and "mean [95% interval] over the seeds" in text
    assert "n/a" not in text
    assert "executes 35.5% of the Baseline's training FLOPs" in text  # no spread across seeds: the value alone
    cap = opening.caption(wide)
    assert f"the mean over seeds {', '.join(map(str, wide.histories))} (line)" in cap and "width 64" in cap


def test_a_rerun_with_one_run_and_a_changed_parameter_speaks_of_that_run():
    one = _one_seed(finished_runs("sel95", "quick", RESULTS), percentile=70.0)
    text = opening.finding_text(one, None)
    assert text.startswith("In this execution (ResNet-18 at width 16 from scratch, profile smoke, percentile = 70.0, "
                           "one run, seed 42) SEL-95% classifies")
    assert "[" not in text and "n/a" not in text and text.endswith("(one run each).")
    assert opening.caption(one).endswith("one run, seed 42 (no band).")


def test_the_baseline_finding_states_its_flops():
    base = _one_seed(finished_runs("baseline", "quick", RESULTS))
    text = opening.finding_text(base, None)
    assert "Baseline CNN classifies" in text and "T executed training FLOPs" in text
    assert "against the Baseline" not in opening.caption(base)
