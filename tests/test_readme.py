"""The README's headline figures are the committed book's: recomputed here from results/quick."""
import re

import pandas as pd
import pytest

from selcore.report import catalogue, claims, measures, original_rows, rules
from selcore.paths import original_results_dir, seed_of, speed_comparison_path
from selcore.profiles import PROFILE_SEEDS, seed_dir
from selcore.report.stats import seed_folders
from tests.conftest import REPO


def _ledger(wide: bool) -> pd.DataFrame:
    """The ledger as the claims chapter computes it: every committed quick seed folder (the profile's seeds and those
    a seed plan added for some rows)."""
    profile_seeds = [seed_dir("quick", s, REPO / "results") for s in PROFILE_SEEDS["quick"]]
    missing = [f for f in profile_seeds if not (f / "run_sel95.json").exists()]
    assert not missing, f"the committed quick results are missing: {missing}"
    folders = seed_folders(REPO / "results" / "quick")
    speed = pd.read_csv(speed_comparison_path(REPO / "results" / "quick"))  # the claims chapter's timing
    return claims.ledger(folders, "quick", original_results_dir(), speed,
                         wide=seed_folders(REPO / "results" / "wide") if wide else None)


@pytest.fixture(scope="module")
def ledger():
    """The claims chapter's ledger: rows with a width-64 reading rest on the wide runs once three have finished."""
    return _ledger(wide=True)


@pytest.fixture(scope="module")
def ledger16():
    """Every row read from the width-16 runs (the README's width-16 figures)."""
    return _ledger(wide=False)


def _readme_finding() -> str:
    text = (REPO / "README.md").read_text()
    m = re.search(r"\*\*What the committed book found\*\*(.*?)\n\n", text, re.S)
    assert m, "the README has lost its 'What the committed book found' paragraph"
    return " ".join(m.group(1).split())


def _bullets() -> str:
    text = (REPO / "README.md").read_text()
    return " ".join(text.split("**What the committed book found**")[1].split("## Two commands")[0].split())


def test_readme_verdict_counts_match_the_committed_ledger(ledger):
    text = _readme_finding()
    assert claims.counts_text(ledger) in text  # the original's claims a regime here can decide, the rest apart
    wide = ledger.loc["sparsity", "n"]
    assert wide == ledger.loc["lottery_accuracy", "n"] == ledger.loc["lottery_savings", "n"] == len(PROFILE_SEEDS["wide"])
    assert f"width 64, seeds 42 to {41 + wide}" in text
    count, _ = original_rows.original_full_test(original_results_dir())
    assert f"for {count} of its 4 systems" in _readme_finding_and_after()


def test_readme_bullets_match_the_committed_ledger(ledger):
    """Each of the five bullets: a claim, its verdict in plain words and its number, from the ledger, the protocol
    and the original's CSVs."""
    from selcore.report import protocol
    text = _bullets()
    f, z, lot, sp = (ledger.loc[k] for k in ("flops_saved", "frozen", "lottery_savings", "sparsity"))
    paper = 100 - protocol.protocol_costs("paper").loc["sel95", "FLOPs, % of Baseline"]
    assert (f"\"SEL-95 saves 99% of training FLOPs\": {f['verdict']}.** It executed {f['mean']:.1f}% fewer training "
            f"FLOPs than the Baseline (the same for each of the {f['n']} seeds: the protocol's image counts fix it); "
            f"counted from the paper's own protocol, {paper:.1f}%") in text
    assert len(set(f["per seed"].split(", "))) == 1  # "the same for each seed"
    assert (f"\"Zeroed gradients freeze their weights\": {z['verdict']}.**" in text and
            f"by {z['mean']:.1f} percentage points (n = {z['n']})" in text)
    assert f"\"The Lottery Ticket saves 80% of FLOPs\": {lot['verdict']}.**" in text
    assert f"it costs {100 - lot['mean']:.0f}% of the Baseline's executed FLOPs" in text
    eq = protocol.original_equal_compute(original_results_dir())
    s, w = eq.loc["sel95"], eq.loc["warmup"]
    assert ledger.loc["equal_compute_original", "verdict"] == "refuted"
    assert (f"its Baseline passed SEL-95's final {s['held-out %']:.1f}% after {int(s['Baseline epochs to match'])} epoch "
            f"({s['their FLOPs, % of Baseline']:.1f}% of a full Baseline run's FLOPs, against SEL-95's {s['FLOPs, % of Baseline']:.1f}%), "
            f"and Warmup+SEL's {w['held-out %']:.1f}% after {int(w['Baseline epochs to match'])} "
            f"({w['their FLOPs, % of Baseline']:.1f}%, against {w['FLOPs, % of Baseline']:.1f}%)") in text
    undecided = ledger[ledger["verdict"] == rules.ORIGINAL_REGIME].index
    assert set(undecided) == {"sparsity", "faster", "sel_accuracy", "warmup_recovers", "lottery_accuracy",
                              "communication"}  # the bullet's sparsity, speed, accuracy and communication
    assert sp["regime"] == catalogue.WIDE_REGIME and f"SEL-95 zeroed {sp['mean']:.1f}% of the gradient entries" in text
    fa = ledger.loc["faster"]
    assert f"at width 16 it saved {fa['mean']:.1f}% of the wall-clock time on this CPU" in text
    from selcore.studies.sparsity_study import points_path
    from selcore.report import sparsity as sp_study
    effect = sp_study.effects(sp_study.cells(pd.read_csv(points_path(REPO / "results" / "quick" / "sparsity"))))["start"]
    low, high = re.search(r"by ([\d.]+) to ([\d.]+) percentage points", effect).groups()
    assert f"lowered the share zeroed by {low} to {high} percentage points" in text


def test_readme_figures_match_the_committed_ledger(ledger):
    more = " ".join(_readme_finding_and_after().split())
    sp, lot, w, fa = (ledger.loc[k] for k in ("sparsity", "lottery_accuracy", "warmup_recovers", "faster"))
    assert f"(Holm's readings, width 64, n = {sp['n']})" in more
    assert f"reads {sp['reading']} ({sp['ours']}%)" in more
    assert f"reads {lot['reading'].replace(' at this n', '')} ({lot['ours']} points above it)" in more
    assert f"reads {w['reading'].replace(' at this n', '')} ({w['ours']} points)" in more
    history = claims.row_history("lottery_accuracy", seed_folders(REPO / "results" / "quick"), "quick",
                                 seed_folders(REPO / "results" / "wide"))
    confirmed = history.loc[history["reading (unadjusted)"] == "confirmed", "n"].tolist()
    assert f"it read confirmed at n = {_listed([str(n) for n in confirmed])}" in more
    assert (f"they would need {int(lot['seeds to decide'])} and {int(w['seeds to decide'])} seeds, more than the "
            f"{len(PROFILE_SEEDS['wide'])}") in more
    assert fa["rule applied"] == "revised 2026-12-02" and f"SEL-95 saved {fa['ours']}% of the wall-clock" in more
    assert f"(n = {fa['n']} timing rounds on one machine" in more
    assert ledger.loc["no_early_overfit", "verdict"] == rules.WITHDRAWN and "withdrawn as confounded" in more


def test_readme_calibration_ratios_match_the_committed_runs():
    import json
    text = _readme_finding_and_after()
    ratios = []
    for s in PROFILE_SEEDS["quick"]:
        folder = seed_dir("quick", s, REPO / "results")
        g = {e: json.loads((folder / f"run_{e}.json").read_text())["prior_cost"]["gamma0"]
             for e in ("sel95", "calib_train_clean")}
        ratios.append(f"{g['calib_train_clean'] / g['sel95']:.2f}")
    assert f"gamma0 {', '.join(ratios[:-1])} and {ratios[-1]} times the original rule's" in text


def test_readme_equal_compute_figures_match_the_committed_runs():
    import pandas as pd
    text = _readme_finding_and_after()
    epochs = pd.read_csv(REPO / "results" / "quick" / "epoch_comparison.csv").set_index("step")
    assert f"took {epochs.loc['sb', 'time_ratio']:.2f} times a dense epoch's wall time" in text
    from selcore.book.equal_compute_page import planned_jobs
    from selcore.report import equal_compute as ec
    jobs = planned_jobs("quick", None, "0.25,0.5", "cifar10-jpeg.tar.gz", str(REPO / "results"))
    points = ec.per_point(ec.relative_to_baseline(ec.run_rows(jobs)))
    assert set(points[ec.pareto(points)]["experiment"]) <= {"baseline", "dense_budget"}  # "never beaten in the means"
    assert "never beaten in the" in text


def _readme_finding_and_after() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index("**What the committed book found**")
    return " ".join(text[start:text.index("## Profiles")].split())


def test_readme_states_the_committed_runs_time_and_the_reuse_of_finished_runs():
    from selcore.report.summary import run_time
    n, seconds = run_time(REPO / "results" / "quick")
    text = " ".join((REPO / "README.md").read_text().split())
    assert f"took {seconds / 3600:.1f} hours of run time on this project's 2-core CPU ({n} runs" in text
    assert f"{seconds / 3600:.1f} hours of run time for its {n} runs" in text  # the profiles table
    assert "**reuses what is committed**" in text and "**`python -m selcore run --fresh` retrains everything**" in text
    two = text[text.index("## Two commands"):text.index("## More of what")]
    assert two.index("--index-url https://download.pytorch.org/whl/cpu") < two.index("pip install -e")


def test_readme_application_figures_match_the_committed_runs(ledger):
    text = _readme_finding_and_after()
    f = ledger.loc["forgetting"]  # the ledger's row: the seeds run since its rule's revision, by the new rule
    seeds = f["regime"].split("(seeds ")[1].rstrip(")").split(", ")
    assert (f"on the four seeds run since ({seeds[0]} to {seeds[-1]}), is {f['reading (unadjusted)']} before Holm's "
            f"adjustment and {f['reading'].replace(' at this n', '')} after it: SEL's mask forgot {f['ours']} points "
            f"less") in text
    assert len(seeds) == f["n"] == 4 and f["rule applied"] == "revised 2026-12-02"
    c = ledger.loc["communication"]
    assert c["regime"] == catalogue.WIDE_REGIME and c["n"] == 5 and c["per seed"].count(", ") == 4
    assert (f"a worker saved {c['ours']}% of a dense all-reduce's bytes: the communication row reads {c['reading']} "
            f"after Holm's adjustment in this regime") in text and c["verdict"] == rules.ORIGINAL_REGIME
    assert f"kept entries ({c['beside'].rsplit(': ', 1)[1]}%) is an upper bound on that saving" in text
    assert f"a data-parallel SEL-95 worker sent {c['mean']:.1f}% fewer bytes than a dense" in _bullets()
    from selcore.book.applications_page import planned_jobs
    from selcore.report import applications as app
    jobs = planned_jobs("quick", None, "cifar10-jpeg.tar.gz", str(REPO / "results"))
    runs = app.comm_runs(jobs)
    comm = app.comm_summary(runs).set_index("experiment")
    sel = runs[runs["experiment"] == "ddp_sel"].sort_values("seed")
    assert f"handed the collectives {comm.loc['ddp_sel', 'sent_pct']:.1f}% of a dense all-reduce's bytes" in text
    pcts = [f"{v:.1f}%" for v in sel["sent_pct"]]
    seeds = [str(s) for s in sel["seed"]]
    assert f"but {', '.join(pcts[:-1])} and {pcts[-1]} for seeds {', '.join(seeds[:-1])} and {seeds[-1]}" in text
    split_runs = app.split_runs(jobs)
    d = app.paired(split_runs, "split_dense", "split_sel", "cil_forgetting")
    assert (f"SEL's mask forgot {d['mean']:.1f} percentage points less than dense training after the last task "
            f"(class-incremental; [{d['lo']:.1f}, {d['hi']:.1f}])") in text
    r = app.paired(split_runs, "split_dense", "split_replay", "cil_forgetting")
    assert f"and experience replay {r['mean']:.1f} less" in text


def _listed(values: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``: how the README lists per-seed values."""
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} and {values[-1]}"


def test_readme_wide_figures_match_the_committed_runs(ledger16):
    """The README's width-64 bullet: each finished seed's first-epoch Baseline accuracy and SEL-95 sparsities, the
    original's, and the paired comparison with the Baseline as the committed SEL-95 chapter glued it."""
    from selcore.book.finding import executed_values
    from selcore.report.regimes import finished, later_sparsity, run_row
    from selcore.report.summary import read_history, run_time
    import nbformat
    text = _readme_finding_and_after()
    base, sel = finished("baseline", "wide", REPO / "results"), finished("sel95", "wide", REPO / "results")
    seeds = sorted(set(base) & set(sel))
    assert seeds, "no width-64 seed has finished both the Baseline and SEL-95"
    epoch1 = [f"{run_row(base[s])['full test after epoch 1 (%)']:.1f}" for s in seeds]
    first = [f"{run_row(sel[s])['sparsity, first SEL epoch (%)']:.1f}" for s in seeds]
    later = [f"{later_sparsity(sel[s]).mean():.1f}" for s in seeds]
    assert f"seed{'s' if len(seeds) > 1 else ''} {_listed([str(s) for s in seeds])}" in text
    assert f"the Baseline classified {_listed(epoch1)}% of the full test set after its first epoch" in text
    assert f"SEL-95 zeroed {_listed(first)}% of the gradient entries in its first SEL epoch and {_listed(later)}%" in text
    orig = original_results_dir()
    ob, os_ = read_history(orig / "hist_baseline.csv"), read_history(orig / "hist_sel95.csv")
    assert f"against the original's {run_row(ob)['full test after epoch 1 (%)']:.1f}% from ImageNet weights" in text
    assert (f"against the original's {run_row(os_)['sparsity, first SEL epoch (%)']:.1f}% and "
            f"{later_sparsity(os_).mean():.1f}%") in text
    glued = executed_values(nbformat.read(REPO / "book" / "sel95.ipynb", as_version=4))
    assert glued["sel95_wide_n_seeds"] == str(len(seeds))
    acc, exe = (glued[f"sel95_wide_vs_baseline_{k}"].strip("'") for k in ("acc", "exec"))
    assert (f"Against the Baseline of the same seed, SEL-95 reached {acc} percentage points of held-out accuracy "
            f"with {exe}% of its executed training FLOPs") in text
    per_seed = ledger16.loc["sparsity", "per seed"].split(", ")
    quick = [str(seed_of(f)) for f in seed_folders(REPO / "results" / "quick") if measures.Seed(f).has("sel95")]
    assert len(quick) == len(per_seed)  # every quick seed folder holding an SEL-95 run, as the ledger reads them
    assert f"was {_listed(per_seed)}% for seeds {_listed(quick)}" in text
    n, seconds = run_time(REPO / "results" / "wide")
    assert f"{seconds / 3600:.1f} hours of run time for its {n} runs" in " ".join(
        (REPO / "README.md").read_text().split())


def test_readme_sparsity_study_figures_match_the_committed_points():
    from selcore.book import sparsity_page as page
    from selcore.studies.sparsity_study import points_path
    from selcore.report import sparsity as sp
    text = _readme_finding_and_after()
    cells = sp.cells(pd.read_csv(points_path(REPO / "results" / "quick" / "sparsity")))
    assert f"{page.verdict(cells)}." in text
    w16, w32, w64 = (page.cell_text(cells, w, "scratch", "eval") for w in (16, 32, 64))
    assert f"zeroed {w16} at width 16, {w32} at width 32 and {w64} at width 64 from scratch" in text
    assert sp.effects(cells)["start"] in text
