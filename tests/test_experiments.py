"""Short real runs of the four experiments on CIFAR-10 images: CSV schema, accounting, run.json."""
import json
import subprocess
import sys

import pandas as pd
import pytest

from selcore.engine.data import CLASSES
from selcore.engine.experiments import run_experiment
from selcore.engine.rows import columns
from tests.conftest import REPO, tiny

pytestmark = pytest.mark.slow  # every test reads the four real runs of the tiny_results fixture

ROWS = {"baseline": 2, "lottery": 2, "sel95": 5, "warmup": 7}


@pytest.mark.parametrize("name", list(ROWS))
def test_csv_schema_and_rows(tiny_results, name):
    df = pd.read_csv(tiny_results / f"hist_{name}.csv")
    assert list(df.columns) == columns(name)
    assert df["epoch"].tolist() == list(range(1, ROWS[name] + 1))
    assert {f"acc_{c}" for c in CLASSES} <= set(df.columns)
    if name in ("sel95", "warmup"):
        assert {f"E_{c}" for c in CLASSES} | {f"C_{c}" for c in CLASSES} <= set(df.columns)
        stages = [0, 0] if name == "warmup" else []
        assert df["stage"].tolist() == stages + [1, 2, 3, 4, 5]
        sel_rows = df[df["stage"] > 0]
        assert ((sel_rows["sparsity"] > 0) & (sel_rows["sparsity"] < 1)).all()
        assert (df.filter(like="E_") >= 0).all().all() and (df.filter(like="C_") <= 1).all().all()
    for col in ("flops_T", "exec_flops_T", "samples_seen", "time_s"):
        assert df[col].is_monotonic_increasing, col
    assert df[["test_full", "test_100", "train_acc"]].apply(lambda s: s.between(0, 100)).all().all()
    info = json.loads((tiny_results / f"run_{name}.json").read_text())
    assert info["status"] == "finished" and info["seed"] == 42 and info["config"]["experiment"] == name
    for key in ("torch", "torchvision", "python", "device", "git_commit"):
        assert info["environment"][key]
    assert info["data_source"] == "cifar10-jpeg.tar.gz"


def test_accounting_follows_the_original_and_ours(tiny_results):
    n = 200  # 20 images per class
    base = pd.read_csv(tiny_results / "hist_baseline.csv")
    P = json.loads((tiny_results / "run_baseline.json").read_text())["num_params"]
    assert base["flops_T"].iloc[-1] == pytest.approx(2 * P * 2 * n / 1e12, rel=1e-6)
    assert base["sparsity"].eq(0).all() and base["samples_seen"].tolist() == [n, 2 * n]
    lot = pd.read_csv(tiny_results / "hist_lottery.csv")
    # proxy counts retraining only (as the original), executed FLOPs and samples include the pretraining
    assert lot["flops_T"].iloc[-1] == pytest.approx(0.2 * base["flops_T"].iloc[-1], rel=0.01)
    assert lot["samples_seen"].tolist() == [2 * n, 3 * n]
    assert lot["exec_flops_T"].iloc[-1] == pytest.approx(1.5 * base["exec_flops_T"].iloc[-1], rel=1e-6)
    prior = json.loads((tiny_results / "run_lottery.json").read_text())["prior_cost"]
    assert prior["samples"] == n and prior["time_s"] > 0
    sel = pd.read_csv(tiny_results / "hist_sel95.csv")
    prior = json.loads((tiny_results / "run_sel95.json").read_text())["prior_cost"]
    assert prior["samples"] == n + 128 and prior["gamma0"] > 0  # scoring pass + calibration batch
    stage1 = 10 * 5  # int(0.25 * 20) = 5 per class
    assert sel["samples_seen"].iloc[0] == n + 128 + stage1
    warm = pd.read_csv(tiny_results / "hist_warmup.csv")
    assert warm["samples_seen"].iloc[0] == n + 128 + 50  # 5 easiest per class
    assert warm["sparsity"].iloc[:2].eq(0).all()


def test_finished_experiment_skips_itself(tiny_results, cifar):
    before = (tiny_results / "hist_baseline.csv").read_bytes()
    run_experiment(tiny("baseline"), tiny_results, data=cifar)
    assert (tiny_results / "hist_baseline.csv").read_bytes() == before


def test_summary_command_on_a_real_short_run(tiny_results):
    r = subprocess.run([sys.executable, "-m", "selcore", "summary", str(tiny_results), "--best"], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert "exec FLOPs T" in lines[0] and "best epoch" in lines[0]
    for title in ("Baseline CNN", "Lottery Ticket", "SEL-95%", "Warmup+SEL"):
        assert any(line.strip().startswith(title) for line in lines)
    assert "original README" not in r.stdout  # our CSVs carry exec FLOPs: no comparison note
