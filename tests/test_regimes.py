"""The regimes side by side, read from the committed runs and the original's published CSVs."""
import json

import pandas as pd

from selcore.report import regimes
from selcore.report.summary import read_history
from tests.conftest import REPO

RESULTS = REPO / "results"


def test_the_regime_table_reads_finished_runs_and_the_originals_row():
    table = regimes.regime_table(regimes.curves("sel95", RESULTS, profiles=("quick",)))
    quick = table.loc["width 16, from scratch (quick)"]
    assert list(quick.index) == [42, 43, 44]
    h42 = read_history(RESULTS / "quick" / "seed42" / "hist_sel95.csv")
    sel = h42[h42["stage"] > 0]
    assert quick.loc[42, "sparsity, first SEL epoch (%)"] == 100 * sel["sparsity"].iloc[0]
    assert quick.loc[42, "held-out (%)"] == h42["test_100"].iloc[-1]
    original = table.loc[regimes.ORIGINAL].loc[42]
    assert original["epochs"] == 50 and original["sparsity, stage 1 (%)"] > 99  # the published run masks nearly all


def test_an_unfinished_run_is_left_out(tmp_path):
    folder = tmp_path / "quick" / "seed42"
    folder.mkdir(parents=True)
    src = RESULTS / "quick" / "seed42"
    (folder / "hist_baseline.csv").write_text((src / "hist_baseline.csv").read_text())
    record = json.loads((src / "run_baseline.json").read_text())
    (folder / "run_baseline.json").write_text(json.dumps({**record, "status": "running"}))
    assert regimes.finished("baseline", "quick", tmp_path) == {}
    (folder / "run_baseline.json").write_text(json.dumps(record))
    assert list(regimes.finished("baseline", "quick", tmp_path)) == [42]


def test_final_accuracies_hold_every_finished_run_of_the_four_experiments():
    finals = regimes.final_accuracies(RESULTS, profiles=("quick",))
    counts = finals.groupby(["regime", "experiment"]).size()
    assert set(counts.loc["width 16, from scratch (quick)"]) == {3}
    assert set(counts.loc[regimes.ORIGINAL]) == {1} and len(counts.loc[regimes.ORIGINAL]) == 4
    assert isinstance(finals, pd.DataFrame) and finals["test_100"].between(0, 100).all()



def test_without_the_originals_csvs_the_regimes_say_so_instead_of_failing(tmp_path, monkeypatch):
    from selcore.book import finding, regimes_page as book_regimes
    monkeypatch.setenv("SELCORE_REFERENCE", str(tmp_path / "nowhere"))
    finding.GLUED.clear()
    book_regimes.glue_original("sel95")
    assert finding.GLUED["sel95_original_first_sparsity"].startswith("not available here")
    table = regimes.regime_table(regimes.curves("sel95", RESULTS, profiles=("quick",)))
    assert regimes.ORIGINAL not in table.index.get_level_values(0)


def test_the_regime_table_is_shown_with_one_decimal():
    import re
    from selcore.book.regimes_page import regime_styler
    from selcore.report.regimes import curves
    cells = re.findall(r">([0-9.]+)</td>", regime_styler(curves("sel95", REPO / "results")).to_html())
    assert cells and not [c for c in cells if re.fullmatch(r"\d+\.\d{3,}", c)]  # no 6-decimal defaults
    assert "39.9" in cells and "2.97" in cells  # seed 42's first SEL epoch (%), its executed FLOPs (T)


def test_the_width_64_runs_lead_the_chapter_with_their_own_glue_names(tmp_path):
    """Item 2 of the regime issue: the finished width-64 runs, paired with the Baseline of the same seed, glue
    ``<name>_wide_*`` (never the width-16 names); an unfinished width-64 Baseline is not paired; no run says n/a."""
    import shutil
    from selcore.book import finding, regimes_page as book_regimes
    wide = RESULTS / "wide" / "seed42"
    for s in (42, 43):
        folder = tmp_path / "wide" / f"seed{s}"
        folder.mkdir(parents=True)
        for p in wide.glob("*_*.*"):
            shutil.copy(p, folder / p.name)
    finding.GLUED.clear()
    book_regimes.headline("sel95", tmp_path)
    g = finding.GLUED
    sel, base = read_history(wide / "hist_sel95.csv").iloc[-1], read_history(wide / "hist_baseline.csv").iloc[-1]
    assert g["sel95_wide_n_seeds"] == 2 and g["sel95_wide_seed_list"] == "42, 43"
    assert g["sel95_wide_regime"] == "width 64 from scratch, profile wide"
    assert g["sel95_wide_seeds_test_100"] == f"{sel['test_100']:.1f}"  # two copies of one run: no spread, the value
    acc = sel["test_100"] - base["test_100"]
    assert g["sel95_wide_vs_baseline_acc"] == f"{acc:.1f}"
    assert "sel95_n_seeds" not in g and "sel95_fig_finding" not in g  # the width-16 names are the chapter's own
    assert g["sel95_wide_fig_finding"].axes[0].get_title().startswith("Width 64, from scratch: ")
    from selcore.book.chapter import finished_runs
    shown = finished_runs("sel95", "wide", tmp_path).seed_table()
    assert shown.data.loc["held-out accuracy (%)", "per seed"] == f"{sel['test_100']:.4g}, {sel['test_100']:.4g}"
    html = shown.to_html()
    assert "at width 64, from scratch (profile wide) over the seeds (42, 43)" in html and ".000000<" not in html
    record = json.loads((wide / "run_baseline.json").read_text())
    (tmp_path / "wide" / "seed43" / "run_baseline.json").write_text(json.dumps({**record, "status": "running"}))
    book_regimes.headline("sel95", tmp_path)
    assert g["sel95_wide_vs_baseline_acc"] == f"{acc:.1f} (n=1)"  # seed 43's Baseline is still training
    finding.GLUED.clear()
    book_regimes.headline("sel95", tmp_path / "nothing")
    assert g["sel95_wide_n_seeds"] == 0 and g["sel95_wide_seeds_test_100"] == "n/a" and g["sel95_wide_seed_list"] == "none"
    assert g["sel95_wide_fig_finding"].axes[0].get_title() == "Width 64, from scratch: no finished run yet"
    book_regimes.headline("sel95", tmp_path, changed={"percentile": 70})  # a rerun with other parameters
    assert g["sel95_wide_n_seeds"] == 0 and g["sel95_wide_vs_baseline_acc"] == "n/a"
    assert g["sel95_wide_fig_finding"].axes[0].get_title() == "Width 64, from scratch: not comparable"
