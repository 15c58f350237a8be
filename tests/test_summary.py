"""The summary reproduces the original release's published table from CSVs in its format."""
import subprocess
import sys

import pandas as pd
import pytest

from selcore.engine.data import CLASSES
from selcore.report.summary import flops_saved, load_results, read_history, summary_table
from tests.conftest import REPO

# Last rows of the original release's CSVs, built from its published description (not fetched):
# name: (epochs, stage?, test_full, test_100, flops_T, time_s, sparsity)
ORIGINAL = {
    "baseline": (30, False, 92.5, 93.2, 33.52, 1398.0, 0.0),
    "lottery": (30, False, 92.7, 93.0, 6.704, 1460.0, 0.8),
    "sel95": (50, True, 77.3, 77.5, 0.084, 835.0, 0.994),
    "warmup": (55, True, 84.7, 85.3, 1.58, 875.0, 0.967),
}


@pytest.fixture
def original_folder(tmp_path):
    for name, (epochs, staged, full, held, flops, secs, sp) in ORIGINAL.items():
        rows = []
        for e in range(1, epochs + 1):
            f = e / epochs
            row = {"epoch": e}
            if staged:
                row["stage"] = min(5, (e - 1) // 10 + 1)
            row.update(train_acc=90.0 * f, train_loss=2.0 - f, test_full=full * f, test_100=held * f,
                       flops_T=flops * f, time_s=secs * f, sparsity=sp)
            row.update({f"acc_{c}": held for c in CLASSES})
            if staged:
                row.update({f"E_{c}": 0.5 for c in CLASSES})
                row.update({f"C_{c}": 0.5 for c in CLASSES})
            rows.append(row)
        pd.DataFrame(rows).to_csv(tmp_path / f"hist_{name}.csv", index=False)
    return tmp_path


@pytest.mark.slow  # a fresh interpreter running the command
def test_summary_reproduces_the_published_figures(original_folder):
    r = subprocess.run([sys.executable, "-m", "selcore", "summary", str(original_folder)], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    titles = ("Baseline CNN", "Lottery Ticket", "SEL-95%", "Warmup+SEL")
    got = {t: line.split()[-5:] for line in r.stdout.splitlines()[1:5] for t in titles if line.strip().startswith(t)}
    assert "exec FLOPs" not in r.stdout.splitlines()[0]  # the original counted no executed FLOPs: no empty columns
    assert got["Baseline CNN"] == ["92.5%", "93.2%", "33.5", "1398", "0.0%"]
    assert got["Lottery Ticket"] == ["92.7%", "93.0%", "6.7", "1460", "80.0%"]
    assert got["SEL-95%"] == ["77.3%", "77.5%", "0.084", "835", "99.7%"]
    assert got["Warmup+SEL"] == ["84.7%", "85.3%", "1.58", "875", "95.3%"]
    # the README printed the 100/class value in its Full test column for three systems: reported, not imitated
    note = r.stdout.split("differs from these CSVs:")[1]
    for system, printed, measured in (("Lottery Ticket", "93.0", "92.7"), ("SEL-95%", "77.5", "77.3"),
                                      ("Warmup+SEL", "85.3", "84.7")):
        assert f"{system}: the original README prints Full test {printed}%, its CSV's last row gives {measured}%" in note
    assert "Baseline CNN" not in note


def test_best_epoch_flag(original_folder):
    t = summary_table(load_results(original_folder), best=True)
    assert t.loc["sel95", "best epoch"] == 50 and t.loc["sel95", "best 100/class"] == pytest.approx(77.5)


def test_fraction_accuracies_are_read_as_percent(tmp_path):
    pd.DataFrame({"epoch": [1], "train_acc": [0.5], "test_full": [0.925], "test_100": [0.932], "flops_T": [1.0],
                  "time_s": [3.0]}).to_csv(tmp_path / "hist_baseline.csv", index=False)
    assert read_history(tmp_path / "hist_baseline.csv")["test_100"].iloc[0] == pytest.approx(93.2)


def test_flops_saved_formula():
    assert flops_saved(0.084, 33.52) == pytest.approx(99.749, abs=1e-3)
    assert flops_saved(6.704, 33.52) == pytest.approx(80.0)


def test_schema_errors_are_clear(tmp_path):
    pd.DataFrame({"epoch": [1], "acc": [3]}).to_csv(tmp_path / "hist_sel95.csv", index=False)
    with pytest.raises(ValueError, match="missing column"):
        load_results(tmp_path)


def test_a_profile_folder_names_its_seed_folders():
    from pathlib import Path

    from selcore.report.summary import load_results
    repo = Path(__file__).resolve().parents[1]
    with pytest.raises(FileNotFoundError, match=r"seed folders seed42, seed43, seed44, seed45, seed46, seed47, seed48: "
                                                r"name one, e\.g\. .*seed42"):
        load_results(repo / "results" / "quick")


def test_an_experiment_ends_with_one_line_of_its_results():
    from selcore.report.summary import experiment_line
    line = experiment_line(REPO / "results" / "quick" / "seed42" / "hist_sel95.csv", "sel95")
    assert line == ("SEL-95%: held-out 31.5%, full test 32.6% after epoch 10; executed 2.97 T training FLOPs "
                    "(the original's proxy: 0.00748 T); 119 s")


def test_summary_shows_executed_flops_saved_beside_the_proxy_and_says_which_is_which(capsys):
    from selcore.cli import main
    assert main(["summary", str(REPO / "results" / "quick" / "seed42")]) == 0
    out = capsys.readouterr().out
    header, sel = out.splitlines()[0], next(line for line in out.splitlines() if line.strip().startswith("SEL-95%"))
    assert header.endswith("FLOPs saved % exec FLOPs saved %")
    assert sel.split()[-2:] == ["86.7%", "64.5%"]  # the proxy's saving, then the executed one
    assert "exec FLOPs saved %: the operations the kernels executed" in out
