"""The ledger's regimes (issue: the original's regime): which runs each row rests on, the rows that move between
width 16 and width 64, the estimate of a SEL worker's bytes from single-process runs, and the seed plans written
once before further seeds run. On the committed runs."""
import shutil

import pandas as pd
import pytest

from selcore.book import seeds as seed_plans
from selcore.engine.results import read_json, write_json
from selcore.paths import original_results_dir, seed_of, seed_plan_path, speed_comparison_path
from selcore.report import catalogue, claims, measures, next_seeds, original_rows, row_regime, rules, width_moves
from selcore.report.planning import CONFIRMATORY
from selcore.report.stats import seed_folders
from selcore.report.summary import read_history
from tests.conftest import REPO

QUICK, WIDE = REPO / "results" / "quick", REPO / "results" / "wide"
FIRST3 = seed_folders(QUICK)[:3]
"""The quick profile's first three seeds: the runs its seed plan was computed from."""
WIDE_ROWS = {"flops_saved", "sparsity", "warmup_recovers", "lottery_accuracy", "lottery_savings", "frozen",
             "communication"}


@pytest.fixture(scope="module")
def speed():
    return pd.read_csv(speed_comparison_path(QUICK))


@pytest.fixture()
def three_wide(tmp_path):
    """Three width-64 seed folders holding seed 42's committed SEL-95 and Baseline runs (the same values thrice)."""
    folders = []
    for s in (42, 43, 44):
        f = tmp_path / "wide" / f"seed{s}"
        f.mkdir(parents=True)
        for name in ("hist_sel95.csv", "run_sel95.json", "hist_baseline.csv", "run_baseline.json"):
            shutil.copy(WIDE / "seed42" / name, f / name)
        folders.append(f)
    return folders


def test_which_rows_the_width_64_runs_can_read():
    assert {c.key for c in catalogue.CLAIMS if c.wide is not None} == WIDE_ROWS
    notes = {c.key: c.regime_note() for c in catalogue.CLAIMS}
    assert notes["forgetting"] == "width 16: the wide profile does not run split_dense, split_sel"
    assert notes["faster"] == "width 16: the controlled timing was made there" and notes["sparsity"] == ""


def test_a_row_rests_on_width_64_once_three_seeds_have_finished_what_it_needs(three_wide, speed):
    quick = seed_folders(QUICK)
    two = claims.ledger(quick, "quick", original_results_dir(), speed, wide=three_wide[:2])
    assert two.loc["sparsity", "regime"] == "width 16 until 3 width-64 seeds finish (2 so far)"
    assert two.loc["sparsity", "per seed"] == claims.ledger(quick, "quick", original_results_dir(), speed).loc[
        "sparsity", "per seed"]
    table = claims.ledger(quick, "quick", original_results_dir(), speed, wide=three_wide)
    wide_sparsity = measures.gradient_sparsity(read_history(WIDE / "seed42" / "hist_sel95.csv"))
    assert table.loc["sparsity", "regime"] == "width 64 (wide)" and table.loc["sparsity", "n"] == 3
    assert table.loc["sparsity", "per seed"] == ", ".join([f"{wide_sparsity:.2f}"] * 3)
    assert table.loc["sparsity", "reading (unadjusted)"] == "confirmed" and 96 < wide_sparsity < 99  # within 95 +- 5, no spread
    # a row whose experiments the copies lack stays on width 16 and says how many width-64 seeds it has
    assert table.loc["warmup_recovers", "regime"] == "width 16 until 3 width-64 seeds finish (0 so far)"
    assert table.loc["forgetting", "regime"].startswith("width 16: the wide profile does not run")
    # the width-64 communication study waits for all its fixed seeds' data-parallel runs
    assert table.loc["communication", "regime"] == "width 16 until 5 width-64 seeds finish (0 so far)"
    # the compact table's few words come from the same regime, not from parsing its text
    assert two.loc["sparsity", "regime, short"] == "width 16 (2 of 3 width-64 seeds)"
    assert table.loc["sparsity", "regime, short"] == "width 64"
    assert table.loc["forgetting", "regime, short"] == "width 16"
    assert table.loc["communication", "regime, short"] == "width 16 (0 of 5 width-64 seeds)"
    assert table.loc["full_test", "regime, short"] == "the original's runs"


def test_a_row_regime_writes_its_long_and_short_texts_from_one_value():
    waiting = row_regime.RowRegime(done=1, waited=3)
    assert (waiting.text, waiting.short) == ("width 16 until 3 width-64 seeds finish (1 so far)",
                                             "width 16 (1 of 3 width-64 seeds)")
    assert (row_regime.RowRegime(wide=True).text, row_regime.RowRegime(wide=True).short) == (catalogue.WIDE_REGIME,
                                                                                             "width 64")
    original = row_regime.RowRegime(original=True)
    assert (original.text, original.short) == ("the original's (its published runs)", "the original's runs")
    note = catalogue.CLAIM["faster"].regime_note()
    assert row_regime.RowRegime(why=note).text == note and row_regime.RowRegime(why=note).short == "width 16"


def test_the_bytes_a_sel_worker_would_send_are_estimated_from_the_kept_entries():
    """By hand from the committed width-64 SEL-95 run: per epoch, images trained (samples_seen minus the scoring
    and calibration images charged before epoch 1), kept share d = 1 - sparsity, message d + min(d, 1/32)."""
    import json
    hist = pd.read_csv(WIDE / "seed42" / "hist_sel95.csv")
    prior = json.loads((WIDE / "seed42" / "run_sel95.json").read_text())["prior_cost"]["samples"]
    seen = [prior] + list(hist["samples_seen"])
    total = sent = 0.0
    for i, sp in enumerate(hist["sparsity"]):
        images, d = seen[i + 1] - seen[i], 1 - sp
        total += images
        sent += images * (d + min(d, 1 / 32))
    assert prior == 5128 and seen[1] - seen[0] == 1250
    assert measures.estimated_bytes_saved(measures.Seed(WIDE / "seed42")) == pytest.approx(100 * (1 - sent / total))


def test_the_moves_table_compares_each_row_at_both_widths(three_wide, speed):
    moves = width_moves.regime_moves(seed_folders(QUICK), three_wide, "quick", original_results_dir(), speed)
    assert set(moves.index) == WIDE_ROWS
    assert moves.loc["sparsity", "moved"] == "yes: inconclusive at this n -> confirmed"
    assert moves.loc["warmup_recovers", "moved"] == "not yet: 0 width-64 seed(s) finished"
    assert moves.loc["communication", "moved"] == "not yet: 0 of its 5 width-64 seeds finished"  # a study's own seeds
    committed = width_moves.regime_moves(seed_folders(QUICK), seed_folders(WIDE), "quick", original_results_dir(), speed)
    done = sum(measures.Seed(f).has("ddp_sel") for f in seed_folders(WIDE) if seed_of(f) in (42, 43, 44, 45, 46))
    assert committed.loc["communication", "moved"] in (f"not yet: {done} of its 5 width-64 seeds finished", "no",
                                                       ) or committed.loc["communication", "moved"].startswith("yes")
    one = width_moves.regime_moves(seed_folders(QUICK), three_wide[:1], "quick", original_results_dir(), speed)
    assert one.loc["sparsity", "moved"] == "not yet: 1 width-64 seed(s) finished"
    text = width_moves.moves_text(moves)
    # the copies lack the lottery and warmup runs
    assert text.startswith("7 rows can be read from the width-64 runs; 3 of them have the two or more")
    assert "sparsity" in text and width_moves.moves_text(one).endswith("an interval needs")


def test_the_seed_plan_is_the_power_calculation_capped(speed):
    table = claims.ledger(FIRST3, "quick", original_results_dir(), speed)
    keys = [c.key for c in catalogue.CLAIMS if c.wide is None]
    plan = next_seeds.seed_plan(table, 10, "2026-12-03", keys).set_index("key")
    assert set(plan.index) == {"forgetting", "per_class_gamma"}  # the inconclusive rows that stay at width 16
    assert plan.loc["forgetting", "seeds to decide"] == str(int(table.loc["forgetting", "seeds to decide, next runs"]))
    for key, r in plan.iterrows():  # each row: the power calculation's n, capped at 10
        need = table.loc[key, "seeds to decide, next runs"]
        fits = not pd.isna(need) and need <= 10
        assert r["then"].startswith("decided at n =" if fits else "stays open: needs")
        if not fits:
            assert r["more seeds to run"] == 0
    capped = next_seeds.seed_plan(table, 2, "2026-12-03", keys).set_index("key")
    assert (capped["more seeds to run"] == 0).all() and capped["then"].str.startswith("stays open").all()


def test_a_seed_plan_is_written_once_and_read_back_unchanged(tmp_path, speed, three_wide):
    table = claims.ledger(FIRST3, "quick", original_results_dir(), speed)
    first = seed_plans.width16_plan(table, tmp_path)
    assert seed_plan_path(tmp_path / "quick").exists() and len(first) == 2
    later = table.copy()
    later["verdict"] = "confirmed"  # more seeds decided every row: the plan written before them stays
    pd.testing.assert_frame_equal(seed_plans.width16_plan(later, tmp_path), first)
    # the width-64 plan waits for three seeds that finished every experiment its rows need
    with_wide = claims.ledger(FIRST3, "quick", original_results_dir(), speed, wide=three_wide)
    assert seed_plans.wide_plan(with_wide, tmp_path) is None and row_regime.finished_wide_seeds(three_wide) == 0
    [_, waiting] = seed_plans.show(with_wide, three_wide, tmp_path, "quick")
    assert waiting.data == "The width 64 plan is not written yet: 0 of 3 width-64 seeds have finished every experiment."
    for f in three_wide:  # every experiment finished in each (seed 42's runs thrice): the plan is written, once
        for name in ("lottery", "warmup"):
            for kind in ("hist_{}.csv", "run_{}.json"):
                shutil.copy(WIDE / "seed42" / kind.format(name), f / kind.format(name))
    assert row_regime.finished_wide_seeds(three_wide) == 3
    done = claims.ledger(FIRST3, "quick", original_results_dir(), speed, wide=three_wide)
    assert (done.loc[list(WIDE_ROWS - {"communication"}), "regime"] == "width 64 (wide)").all()
    assert done.loc["communication", "regime"].startswith("width 16 until 5")  # its own study: no ddp_sel here
    plan = seed_plans.wide_plan(done, tmp_path)
    # the same values thrice have no spread: every width-64 row is decided, and the file keeps the plan's header
    assert seed_plan_path(tmp_path / "wide").exists() and plan.empty and list(plan.columns) == next_seeds.PLAN_COLUMNS
    assert seed_plans.show(done, three_wide, tmp_path, "quick")[1].data == (
        "The width 64 plan has no row: no inconclusive row rests on width 64.")
    pd.testing.assert_frame_equal(seed_plans.wide_plan(done.assign(verdict="confirmed"), tmp_path), plan)


def test_a_rule_revised_for_runs_from_a_date_reads_those_runs_alone_once_they_exist(tmp_path, speed):
    """Forgetting's rule, revised 2026-12-02, reads the Split CIFAR-10 runs started since then and no other; the
    earlier seeds' reading under the old rule stays beside it. New runs: seed 42's and 43's committed runs, copied
    under new seed numbers with a start date after the revision."""
    old = FIRST3
    for new, src in ((45, old[0]), (46, old[1])):
        f = tmp_path / f"seed{new}"
        f.mkdir()
        for e in ("split_dense", "split_sel"):
            shutil.copy(src / f"hist_{e}.csv", f / f"hist_{e}.csv")
            record = read_json(src / f"run_{e}.json")
            record["started_utc"] = "2026-12-03T11:00:00Z"
            write_json(f / f"run_{e}.json", record)
    before = claims.ledger(old, "quick", original_results_dir(), speed).loc["forgetting"]
    assert before["rule applied"] == "original" and before["n"] == 3 and before["ours, before the revision"] == ""
    row = claims.ledger(old + [tmp_path / "seed45", tmp_path / "seed46"], "quick", original_results_dir(), speed
                        ).loc["forgetting"]
    assert row["rule applied"] == "revised 2026-12-02" and row["n"] == 2
    assert row["rule"] == catalogue.CLAIM["forgetting"].revision.rule.describe()
    assert row["per seed"] == ", ".join(before["per seed"].split(", ")[:2])  # the copies' values, in seed order
    assert row["regime"].endswith("; the runs started since 2026-12-02 (seeds 45, 46)")
    assert row["ours, before the revision"] == before["ours"] + " (n=3)"  # the old runs, read by the old rule


def test_a_plan_is_shown_beside_where_its_rows_stand_now(tmp_path, speed):
    """The plan as written, and per row the n and verdict of this execution's ledger (here: the committed runs of
    every quick seed folder, the seeds the plan added included)."""
    plan = seed_plans.width16_plan(claims.ledger(FIRST3, "quick", original_results_dir(), speed), tmp_path)
    now = claims.ledger(seed_folders(QUICK), "quick", original_results_dir(), speed)
    shown = seed_plans.progress(plan, now).set_index("key")
    for key in ("forgetting", "per_class_gamma"):
        assert shown.loc[key, "n now"] == 3  # as written, from the first three seeds
        assert shown.loc[key, "n, this execution"] == now.loc[key, "n"]
        assert shown.loc[key, "reading, this execution"] == now.loc[key, "reading (unadjusted)"]
    assert list(shown.columns[5:9]) == ["more seeds to run", "n, this execution", "reading, this execution", "then"]
    # the chapter's table: a row per claim, its key columns first, the date in the caption
    table = seed_plans.plan_table(plan, now)
    assert list(table["claim"]) == list(plan["claim"]) and list(table.columns[:3]) == [
        "claim", "n when written", "per seed when written"] and table.columns[-1] == "then"
    assert table["n, this execution"].tolist() == now.loc[plan["key"], "n"].tolist()
    [styled, _] = seed_plans.show(now, [], tmp_path, "quick")  # written above; no width-64 folders here
    assert list(styled.data["claim"]) == list(plan["claim"]) and f"written on {plan['written'].iloc[0]}" in styled.caption


def test_each_inconclusive_row_says_what_happens_to_it_next():
    """The claims chapter's power table, on the committed runs: a row needing more seeds than its regime's cap for
    80% power is not decidable at a practical n; a row a new study reads names it; any other stays open at its
    fixed n (more seeds need a group-sequential rule, none written)."""
    table = claims.ledger(seed_folders(QUICK), "quick", original_results_dir(),
                          pd.read_csv(speed_comparison_path(QUICK)), wide=seed_folders(WIDE))
    shown = seed_plans.power_table(table)
    assert list(shown.index) == list(table.index[(table["reading"] == "inconclusive at this n") & (table["n"] >= 2)])
    for key, row in shown.iterrows():
        r = table.loc[key]
        cap = seed_plans.CAPS["wide" if r["regime"] == catalogue.WIDE_REGIME else "quick"]
        wide = catalogue.CLAIM[key].wide
        if wide is not None and wide.seeds is not None and r["regime"] != catalogue.WIDE_REGIME:
            assert row["next"].startswith("a new study reads it")
        elif pd.isna(r["seeds to decide, next runs"]) or r["seeds to decide, next runs"] > cap:
            assert row["next"].startswith("not decidable at a practical n in this regime")
        else:
            assert row["next"].startswith("stays open at its fixed n")
    assert shown.loc["lottery_accuracy", "seeds for 80% power"] == "173"  # -0.2 vs -1 pp, SD 3.7: far past 6


def test_adding_a_seed_folder_changes_no_verdict(tmp_path, speed):
    """Re-executing the ledger with a further seed folder (a copy of seed 47 as seed 49, at both widths) changes no
    verdict, reading or n: only each regime's confirmatory seeds are read."""
    root = tmp_path / "results"
    for profile in ("quick", "wide"):
        shutil.copytree(REPO / "results" / profile, root / profile,
                        ignore=shutil.ignore_patterns("checkpoints", "figures"))
    before = claims.ledger(seed_folders(root / "quick"), "quick", original_results_dir(), speed,
                           wide=seed_folders(root / "wide"))
    for profile in ("quick", "wide"):
        shutil.copytree(root / profile / "seed47", root / profile / "seed49")
        for name in ("hist_lottery.csv",):  # a seed that would move the Lottery row if it were read
            if not (root / profile / "seed49" / name).exists():
                continue
            df = pd.read_csv(root / profile / "seed49" / name)
            df["test_100"] = 0.0
            df.to_csv(root / profile / "seed49" / name, index=False)
    after = claims.ledger(seed_folders(root / "quick"), "quick", original_results_dir(), speed,
                          wide=seed_folders(root / "wide"))
    cols = ["verdict", "verdict (unadjusted)", "reading", "reading (unadjusted)", "n", "ours"]
    pd.testing.assert_frame_equal(before[cols], after[cols])
    assert 49 not in CONFIRMATORY["wide"].seeds and 49 not in CONFIRMATORY["quick"].seeds


def test_verdicts_on_the_original_claims_follow_what_a_regime_here_can_decide(speed):
    table = claims.ledger(seed_folders(QUICK), "quick", original_results_dir(), speed, wide=seed_folders(WIDE))
    for key, r in table.iterrows():
        c = catalogue.CLAIM[key]
        assert r["decidable here"] == ("yes" if c.decidable.here else "no") and r["evidence"]
        if c.withdrawn:
            assert r["verdict"] == rules.WITHDRAWN
        elif not c.decidable.here:
            assert r["verdict"] == rules.ORIGINAL_REGIME and r["reading"] != rules.ORIGINAL_REGIME
        else:
            assert r["verdict"] == r["reading"]
    # the regime-dependent rows as the verdicts issue lists them, and the regime-independent ones
    undecidable = {"sel_accuracy", "warmup_recovers", "lottery_accuracy", "sparsity", "communication", "faster"}
    assert {k for k, c in catalogue.CLAIM.items() if not c.decidable.here and not c.withdrawn} == undecidable
    assert all(catalogue.CLAIM[k].decidable.here for k in ("frozen", "flops_saved", "lottery_savings", "full_test"))
    counts = claims.counts(table)["claim"]
    text = claims.counts_text(table)
    decided = sum(counts[v] for v in rules.TESTED)
    assert f"{decided} can be decided in a regime this book ran" in text
    assert f"{counts[rules.ORIGINAL_REGIME]} need the original's regime" in text


def test_equal_compute_in_the_original_regime_from_its_csvs():
    """From the original's hist_baseline.csv: epoch 1 (1/30 of its FLOPs, 45 s) reaches 80.0% held-out, above
    SEL-95's final 77.5%; epoch 3 (10%) 86.4%, above Warmup+SEL's 85.3%; SEL's compute from the protocol's counts."""
    from selcore.report import protocol
    t = protocol.original_equal_compute(original_results_dir())
    assert t.loc["sel95", "Baseline epochs to match"] == 1 and t.loc["warmup", "Baseline epochs to match"] == 3
    assert t.loc["sel95", "Baseline held-out % then"] == pytest.approx(80.0)
    assert t.loc["warmup", "their FLOPs, % of Baseline"] == pytest.approx(10.0)
    assert t.loc["sel95", "FLOPs, % of Baseline"] == pytest.approx(42.45, abs=0.01)
    assert t.loc["sel95", "their time (s)"] == pytest.approx(45.3, abs=0.1)
    found, short, verdict = original_rows.equal_compute_reading(original_results_dir())
    assert verdict == "refuted" and "Baseline epoch 1: 80.0% at 3.3%" in found
    assert short.startswith("SEL-95%: 1 dense epoch (3.3% vs 42.5% of the FLOPs); Warmup+SEL: 3 dense epochs (10.0% vs")


def test_the_paper_protocol_ratios_come_from_the_protocol():
    """620,000 of 1,500,000 images (41.3%) at the paper's protocol, 12,400 of 40,000 (31%) at the scaled one; the
    scaled regime's executed-FLOPs share equals the committed runs' (35.5%)."""
    from selcore.report import protocol
    r = protocol.protocol_comparison(("paper", "wide"))
    assert r.loc["sel95", "paper: images trained"] == 620_000 and r.loc["baseline", "paper: images trained"] == 1_500_000
    assert r.loc["sel95", "wide: images, % of Baseline"] == pytest.approx(31.0)
    assert r.loc["warmup", "paper: images trained"] == 670_000 and r.loc["lottery", "paper: images, % of Baseline"] == 150
    run = measures.Seed(WIDE / "seed42")
    assert 100 - run.saving("sel95", "exec_flops_T") == pytest.approx(r.loc["sel95", "wide: FLOPs, % of Baseline"], abs=0.1)


def test_a_run_still_training_is_not_read(tmp_path, speed):
    """A width-64 seed whose data-parallel run is still training (run.json: running) does not count towards the
    communication study's seeds, and its partial CSV is not read."""
    folder = tmp_path / "wide" / "seed42"
    folder.mkdir(parents=True)
    for name in ("hist_ddp_sel.csv", "run_ddp_sel.json"):
        shutil.copy(WIDE / "seed42" / name, folder / name)
    assert measures.Seed(folder).has("ddp_sel")
    info = read_json(folder / "run_ddp_sel.json")
    write_json(folder / "run_ddp_sel.json", {**info, "status": "running"})
    assert not measures.Seed(folder).has("ddp_sel")
    done, enough = row_regime.wide_progress(catalogue.CLAIM["communication"], [folder])
    assert done == [] and enough == 5
