"""The reporting layer on the committed quick results (CSVs and run.json files only, as on a fresh clone):
the ledger and the ablations chapter's statistics equal the values the executed book glued, and what needs a
git-ignored checkpoint is named, not recomputed."""
import ast
import json

import pandas as pd
import pytest

from selcore.config import ABLATIONS, EXPERIMENTS
from selcore.paths import RunPaths, csv_path, original_results_dir, speed_comparison_path
from selcore.report import ablations as abl
from selcore.report import catalogue, claims, rules
from selcore.report import plots_ablations as pa
from selcore.report.stats import seed_folders
from selcore.report.summary import read_history
from tests.conftest import REPO

QUICK = REPO / "results" / "quick"
SEEDS = (42, 43, 44)


def glued(chapter: str) -> dict:
    """The values an executed chapter of the book glued, by key (text values unquoted)."""
    nb = json.loads((REPO / "book" / f"{chapter}.ipynb").read_text())
    out = {}
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                text = o["data"]["application/papermill.record/text/plain"]
                out[name] = ast.literal_eval(text) if text[:1] in "'\"" else text
    return out


@pytest.fixture(scope="module")
def folders():
    main = {s: QUICK / f"seed{s}" for s in SEEDS}
    return main, {s: QUICK / "optimizersgd" / f"seed{s}" for s in SEEDS}


def committed_speed():
    """The controlled timing the claims chapter measured and committed beside the runs."""
    path = speed_comparison_path(QUICK)
    assert path.exists(), f"{path} is missing: the claims chapter measures it"
    return pd.read_csv(path)


def test_ledger_equals_the_books_claims_page():
    table = claims.ledger(seed_folders(QUICK), "quick", original_results_dir(), committed_speed(),
                          wide=seed_folders(QUICK.parent / "wide"))  # as the chapter reads them
    book = glued("claims")
    for key, row in table.iterrows():
        assert row["ours"] == book[f"claim_{key}_ours"], key
        assert row["verdict"] == book[f"claim_{key}_verdict"], key
        assert row["reading"] == book[f"claim_{key}_reading"], key
        assert row["reading (unadjusted)"] == book[f"claim_{key}_reading_unadjusted"], key
        assert int(row["n"]) == int(book[f"claim_{key}_n"]), key
        assert row["per seed"] == book[f"claim_{key}_per_seed"], key
    assert claims.counts_text(table) == book["claims_counts_text"]
    assert claims.counts_brief(table) == book["claims_counts_brief"] and claims.counts_brief(table).startswith(
        "Of the original's 11 claims about its results, 4 can be decided here (3 refuted, 1 inconclusive at this n, "
        "after Holm's adjustment for multiple comparisons), 6 need the original's regime and 1 was withdrawn")


def test_ledger_view_states_what_every_row_shares_once():
    table = claims.ledger(seed_folders(QUICK), "quick", original_results_dir())
    text, compact, detail, reads = claims.ledger_view(table, "profile quick, CPU")
    assert text.startswith("Every row: profile quick, CPU;") and "Holm's, over the 10 rows read by a test" in text
    assert list(compact.columns) == claims.VERDICT_COLUMNS  # the key columns, nothing wider
    assert not compact["ours"].str.contains(r"\(n=").any()  # n has its own column
    assert compact.loc["flops_saved", "ours"] == "64.5%" and compact.loc["flops_saved", "n"] == 3  # no spread: a value
    assert compact.loc["lottery_accuracy", "ours"].endswith("] pp") and compact.loc["full_test", "n"] == "–"
    assert detail.loc["flops_saved", "per seed"] == "64.50, 64.50, 64.50"
    assert reads.loc["faster", "regime"] == "width 16: the controlled timing was made there"
    assert compact.loc["faster", "regime"] == "width 16"
    assert compact.loc["full_test", "regime"] == "the original's runs" and "evidence" in reads.columns
    assert compact.loc["sparsity", "verdict"] == rules.ORIGINAL_REGIME and compact.loc["sparsity", "decidable here"] == "no"
    assert compact.loc["no_early_overfit", "verdict"] == rules.WITHDRAWN
    assert table.loc["per_class_gamma", "seeds to decide"] == 15  # 80% power against a 2-point improvement


def test_ablations_statistics_equal_the_books_ablations_page(folders):
    main, sgd = folders
    runs = [(e, e, s, main[s]) for s in SEEDS for e in EXPERIMENTS + ABLATIONS]
    runs += [("sel95_sgd", "sel95", s, sgd[s]) for s in SEEDS]
    rows = pa.last_rows(runs)
    stats = pa.summary_stats(rows)
    effects, values = abl.effects(rows)
    values |= abl.system_values(stats) | abl.calibration_values(main)
    hists = {"sel95": [read_history(csv_path(main[s], "sel95")) for s in SEEDS],
             "sel95_sgd": [read_history(csv_path(sgd[s], "sel95")) for s in SEEDS]}
    values |= abl.frozen_values(hists)
    book = glued("ablations")
    texts = [k for k in values if k.endswith(("_txt", "_read", "_read_holm")) and k in book]
    assert len(texts) >= 40
    assert {k: values[k] for k in texts} == {k: book[k] for k in texts}
    # gamma0 from the run.json files; a ratio's interval on the log scale stays above 0 (it read [-1.65, 4.92])
    assert values["abl_gamma_ratio_txt"] == "1.64 [0.12, 13.41] (n=3)"
    assert values["abl_sel95_frozen_verdict"] == claims.ledger(list(main.values()), "quick").loc["frozen", "reading (unadjusted)"]
    assert values["abl_sel95_sgd_frozen_txt"] == "0.0 [0.0, 0.0] (n=3)"  # SGD: a zeroed entry leaves its weight
    assert list(effects.index) == list(abl.COMPARISONS) and (effects["n"] == 3).all()
    assert effects.loc["sgd", "held-out acc. difference, pp"] == "-12.7 [-20.2, -5.0]"
    assert effects.loc["sgd", "per seed"] == "-15.7, -12.7, -9.6"
    assert (effects.loc["sgd", "reading"], effects.loc["sgd", "reading (Holm)"]) == \
        ("the interval excludes zero", "no difference is shown")  # p 0.019 alone, 0.15 after Holm over 9
    # an interval that excludes zero never reads as touching it: more decimals where an end would round to 0
    assert effects.loc["mask_sorted", "held-out acc. difference, pp"] == "-5.03 [-10.01, -0.03]"
    assert effects.loc["vs_baseline", "reading (Holm)"] == "a difference is shown"
    fewer, _ = abl.effects(rows[~((rows["system"] == "sel95_sgd") & (rows["seed"] == 44))])
    assert fewer.loc["sgd", "n"] == 2 and fewer.loc["order", "n"] == 3


def test_committed_order_agreement_equals_the_checkpoint_based_values_of_the_earlier_book(folders):
    """The committed oracle-order runs hold the agreement recorded from retrained Baselines (identical CSVs);
    it reproduces what the earlier book computed from the Baseline checkpoints themselves."""
    main, _ = folders
    agreement = abl.order_agreement(main)
    assert agreement.missing == [] and agreement.note == "" and list(agreement.rho.columns) == [f"seed{s}" for s in SEEDS]
    values = agreement.values()
    assert values["abl_rho_txt"] == "-0.04 [-0.10, 0.02] (n=30)"  # inside [-1, 1]: the logit scale
    means = agreement.rho.mean(axis=1)
    assert means.idxmin() == "dog" and abs(means.min() - -0.1487267550948175) < 1e-12
    assert means.idxmax() == "ship" and abs(means.max() - 0.07268275473101894) < 1e-12


def test_order_agreement_missing_is_named_with_its_cost(folders, tmp_path):
    main, _ = folders
    copies = {}
    for s in SEEDS:   # the committed runs without the record, as runs trained before it was stored
        copies[s] = tmp_path / f"seed{s}"
        copies[s].mkdir()
        for e in ("baseline", "oracle_order"):
            info = json.loads(RunPaths(main[s], e).run_json.read_text())
            (info.get("prior_cost") or {}).pop("order_agreement", None)
            RunPaths(copies[s], e).run_json.write_text(json.dumps(info))
            csv_path(copies[s], e).write_bytes(csv_path(main[s], e).read_bytes())
    agreement = abl.order_agreement(copies)
    assert agreement.rho.empty and agreement.missing == list(SEEDS) and agreement.extremes == {}
    seconds = 0.0
    for s in SEEDS:
        for e in ("baseline", "oracle_order"):
            prior = json.loads(RunPaths(main[s], e).run_json.read_text())["prior_cost"] or {}
            seconds += read_history(csv_path(main[s], e))["time_s"].iloc[-1] + prior.get("time_s", 0.0)
    assert "seeds 42, 43, 44" in agreement.note and "retraining the Baseline" in agreement.note
    assert f"about {seconds / 60:.0f} min" in agreement.note
    assert agreement.values() == {"abl_rho_txt": "not available (see above)", "abl_rho_range": "not available"}


def test_order_agreement_is_read_from_the_run_json(tmp_path):
    record = {"spearman": {"cat": 0.5, "dog": -0.25},
              "extremes": {"scorer": {"cat": [1, 2], "dog": [3, 4]},
                           "trained Baseline": {"cat": [2, 1], "dog": [4, 3]}}}
    for seed, shift in ((42, 0.0), (43, 0.1)):
        folder = tmp_path / f"seed{seed}"
        folder.mkdir()
        rec = {**record, "spearman": {k: v + shift for k, v in record["spearman"].items()}}
        RunPaths(folder, "oracle_order").run_json.write_text(json.dumps({"prior_cost": {"order_agreement": rec}}))
    agreement = abl.order_agreement({s: tmp_path / f"seed{s}" for s in (42, 43)})
    assert agreement.note == "" and agreement.missing == []
    assert agreement.rho.loc["dog"].tolist() == pytest.approx([-0.25, -0.15])
    assert agreement.table()["mean"].tolist() == pytest.approx([0.55, -0.2])
    assert agreement.extremes[43]["trained Baseline"]["dog"] == [4, 3]
    assert agreement.values()["abl_rho_range"] == "from -0.20 (dog) to 0.55 (cat)"
    assert agreement.values()["abl_rho_txt"].endswith("(n=4)")
    assert agreement.rho.shape == (2, 2)


def test_epoch_seconds_of_the_committed_baselines_equal_the_analysis_pages_spread():
    """Each epoch's seconds are the step of the cumulative ``time_s`` column, each run's first epoch left out;
    the analysis chapter states their spread over the committed Baseline runs (3 seeds x 7 epochs at quick)."""
    import pandas as pd

    from selcore.report.stats import epoch_seconds, epoch_spread_text
    from selcore.report.summary import load_results
    two = [pd.DataFrame({"time_s": [30.0, 50.0, 71.5]}), pd.DataFrame({"time_s": [9.0]})]
    assert list(epoch_seconds(two)) == [20.0, 21.5]
    assert epoch_seconds([]).empty and epoch_spread_text(epoch_seconds([])).startswith("not measured")
    runs = [load_results(QUICK / f"seed{s}")["baseline"] for s in SEEDS]
    seconds = epoch_seconds(runs)
    assert len(seconds) == sum(len(h) - 1 for h in runs) == 21 and (seconds > 0).all()
    text = epoch_spread_text(seconds)
    assert text.startswith(f"from {seconds.min():.1f} to {seconds.max():.1f} s") and text.endswith("over 21 epochs")
    assert glued("analysis")["analysis_epoch_spread"] == text


def test_every_chapter_glues_the_ledgers_width_64_n():
    """A glued width-64 figure states the n of the seeds it reads; every executed chapter of the book states the same
    n as the ledger's width-64 rows (a chapter executed before the last width-64 seed finished fails here)."""
    import re
    table = claims.ledger(seed_folders(QUICK), "quick", original_results_dir(), committed_speed(),
                          wide=seed_folders(QUICK.parent / "wide"))
    n = int(table.loc["sparsity", "n"])
    assert table.loc["sparsity", "regime"] == catalogue.WIDE_REGIME
    seen = 0
    for path in sorted((REPO / "book").glob("*.ipynb")):
        for key, value in glued(path.stem).items():
            if "wide" not in key:
                continue
            m = re.search(r"\(n=(\d+)", str(value))
            if key.endswith(("_wide_n", "_wide_n_seeds")):
                assert int(value) == n, f"{path.name}: {key} = {value}, the ledger reads n = {n}"
                seen += 1
            elif m:
                assert int(m.group(1)) == n, f"{path.name}: {key} = {value}, the ledger reads n = {n}"
                seen += 1
    assert seen >= 20


def test_the_experiment_chapters_quote_the_originals_full_test_from_its_csv():
    """The original's README prints 77.5 as SEL-95's full-test accuracy; its CSV says 77.26 (the ledger's
    discrepancy row): the chapter quotes the CSV."""
    from selcore.report.summary import read_history
    for name in ("baseline", "lottery", "sel95", "warmup"):
        csv = read_history(csv_path(original_results_dir(), name))["test_full"].iloc[-1]
        assert float(glued(name)[f"{name}_published_test_full"]) == pytest.approx(csv), name
