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
    from selcore.book import finding, regimes as book_regimes
    monkeypatch.setenv("SELCORE_REFERENCE", str(tmp_path / "nowhere"))
    finding.GLUED.clear()
    book_regimes.glue_original("sel95")
    assert finding.GLUED["sel95_original_first_sparsity"].startswith("not available here")
    table = regimes.regime_table(regimes.curves("sel95", RESULTS, profiles=("quick",)))
    assert regimes.ORIGINAL not in table.index.get_level_values(0)


def test_the_regime_table_is_shown_with_one_decimal():
    import re
    from selcore.book.regimes import regime_styler
    from selcore.report.regimes import curves
    cells = re.findall(r">([0-9.]+)</td>", regime_styler(curves("sel95", REPO / "results")).to_html())
    assert cells and not [c for c in cells if re.fullmatch(r"\d+\.\d{3,}", c)]  # no 6-decimal defaults
    assert "39.9" in cells and "2.97" in cells  # seed 42's first SEL epoch (%), its executed FLOPs (T)
