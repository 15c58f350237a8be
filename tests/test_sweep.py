"""Sweeps: the grid's jobs and folders, the waves that order them, job states, and real sweeps through the
``local`` executor (the Slurm route: tests/test_slurm.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import default_sigint

from selcore.book.launch import chapter_resources
from selcore.cli import main
from selcore.config import ConfigError
from selcore.paths import setting_name
from selcore.profiles import parse_seeds
from selcore.sweep.plan import Job, parse_experiments, parse_grid, plan_sweep
from selcore.sweep.status import SweepRecord, job_state, status_table
from selcore.sweep.submit import local_parallelism

REPO = Path(__file__).resolve().parents[1]
DATA_NAME = "cifar10-jpeg.tar.gz"  # runs are matched by the data source's file name


def test_setting_names_are_stable_and_typed():
    assert setting_name({}) == ""
    assert setting_name({"percentile": 30.0}) == setting_name({"percentile": 30}) == "percentile30"
    assert setting_name({"temperature": 2.5, "percentile": 30.0}) == "percentile30-temperature2.5"
    assert setting_name({"stage_epochs": (1, 1, 2)}) == "stage_epochs1,1,2"


def test_grid_values_are_typed_and_bad_ones_named():
    assert parse_grid(["percentile=30,40,50", "temperature=1,2"]) == {"percentile": [30.0, 40.0, 50.0],
                                                                      "temperature": [1.0, 2.0]}
    assert parse_grid(["stage_epochs=1,1,1,1,1;2,2,2,2,2"]) == {"stage_epochs": [(1,) * 5, (2,) * 5]}
    for bad, word in (("percentil=30", "no parameter 'percentil'"), ("percentile=abc", "percentile"),
                      ("seed=1,2", "--seeds"), ("percentile", "FIELD=V1"), ("percentile=101", "between 0 and 100")):
        with pytest.raises(ConfigError, match=word):
            plan_sweep("smoke", ["sel95"], (42,), parse_grid([bad]), DATA_NAME)


def test_seeds_and_experiments():
    assert parse_seeds("42-44,50", "quick") == [42, 43, 44, 50]
    assert parse_seeds(None, "quick") == [42, 43, 44]
    # the forms a chapter's seeds parameter takes, through the same function
    assert parse_seeds("[42, 43]", "quick") == parse_seeds([42, 43], "quick") == parse_seeds("42,43", "quick") == [42, 43]
    assert parse_seeds(44, "quick") == [44]
    assert parse_experiments(None) == ("baseline", "lottery", "sel95", "warmup")
    with pytest.raises(ConfigError, match="42-46"):
        parse_seeds("forty", "quick")
    with pytest.raises(ConfigError, match=r"unknown experiment 'sel96' \(did you mean 'sel95'\?\)"):
        parse_experiments("sel95,sel96")


def test_plan_folders_waves_and_shared_curricula(tmp_path):
    jobs = plan_sweep("quick", ["sel95", "warmup", "oracle_order", "lottery"], (42, 43),
                      parse_grid(["percentile=30,40"]), DATA_NAME, results_root=tmp_path)
    by_key = {j.key: j for j in jobs}
    base = (tmp_path / "quick").resolve()
    # the profile's own setting writes where the book reads; another setting into a folder named by it
    assert by_key["quick/seed42/sel95"].root == str(base / "seed42")
    assert by_key["quick/percentile30/seed43/sel95"].root == str(base / "percentile30" / "seed43")
    assert by_key["quick/percentile30/seed43/sel95"].cfg.percentile == 30.0
    # one curriculum per seed and setting, shared by sel95, warmup and oracle_order; oracle_order's Baseline added
    assert sorted(k for k in by_key if k.endswith("curriculum")) == [
        f"quick/{s}seed{k}/curriculum" for s in ("percentile30/", "") for k in (42, 43)]
    assert by_key["quick/seed42/baseline"].wave == 0 and by_key["quick/seed42/lottery"].wave == 0
    assert {by_key[f"quick/seed42/{e}"].wave for e in ("sel95", "warmup", "oracle_order")} == {1}
    assert [j.wave for j in jobs] == sorted(j.wave for j in jobs)
    assert len(jobs) == 2 * 2 * (1 + 1 + 4)  # settings x seeds x (curriculum + baseline + 4 asked)
    # the calibration ablation computes its curriculum under its own rules: a job of its own
    keys = {j.key for j in plan_sweep("smoke", ["sel95", "calib_train_clean"], (42,), {}, DATA_NAME)}
    assert {"smoke/seed42/curriculum", "smoke/seed42/curriculum-calib_train_clean"} <= keys
    # several profiles in one sweep, each with its own seeds unless --seeds names them
    both = plan_sweep("quick,smoke", ["baseline"], None, {}, DATA_NAME)
    assert sorted(j.key for j in both) == ["quick/seed42/baseline", "quick/seed43/baseline", "quick/seed44/baseline",
                                           "smoke/seed42/baseline"]
    # a job round-trips through the sweep record
    j = by_key["quick/percentile30/seed43/sel95"]
    assert Job.from_dict(json.loads(json.dumps(j.to_dict()))) == j


@pytest.mark.skipif(not (REPO / "results" / "quick" / "seed42" / "run_sel95.json").exists(),
                    reason="needs the committed quick results")
def test_states_read_from_what_jobs_leave(tmp_path):
    # the committed quick runs are finished under the profile's setting: a sweep finds them and would skip them
    [sel95] = [j for j in plan_sweep("quick", ["sel95"], (42,), {}, DATA_NAME, results_root=REPO / "results")
               if j.kind == "experiment"]
    assert job_state(sel95, {}, set()).name == "finished"
    # a job that failed for a real reason says why; one that was stopped says how to resume
    [job] = [j for j in plan_sweep("smoke", ["baseline"], (42,), {}, DATA_NAME, results_root=tmp_path)]
    Path(job.root).mkdir(parents=True)
    run_json = Path(job.root) / "run_baseline.json"
    assert job_state(job, {}, set()).name == "not submitted"
    run_json.write_text(json.dumps({"status": "failed", "error": "Divergence: loss is nan at step 3"}))
    assert job_state(job, {"job_id": "7"}, set()) .why == "Divergence: loss is nan at step 3"
    run_json.write_text(json.dumps({"status": "interrupted", "error": "Stopped: SIGTERM"}))
    st = job_state(job, {"job_id": "7"}, set())
    assert st.name == "interrupted" and "rerun the sweep" in st.why
    assert job_state(job, {"job_id": "7"}, {"7": "PENDING (BeginTime)"}).name == "requeued"
    assert job_state(job, {"job_id": "7"}, {"7": "RUNNING"}).in_queue


def test_cli_errors_are_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SELCORE_SWEEPS", str(tmp_path))
    for argv, word in ((["--executor", "pbs"], "--executor 'pbs'"), (["--grid", "percentil=3"], "percentil"),
                       (["--time", "0"], "--time 0"), (["--profile", "fast"], "profile='fast'")):
        profile = [] if "--profile" in argv else ["--profile", "quick"]  # else one more line says which is used
        assert main(["sweep", "--experiments", "sel95", *profile, *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert word in err and len(err.splitlines()) == 1, err
    assert main(["sweep", "--status"]) == 0
    assert "no sweeps yet" in capsys.readouterr().out


def test_a_chapters_jobs_take_the_profiles_threads_unless_told(monkeypatch):
    """A chapter's ``cpus=0``: the book's profiles run one job at a time on every CPU (the committed runs' thread
    count); the smoke profile runs a single-thread job per CPU. A number given wins; a bad executor or profile is
    named."""
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    for profile in ("quick", "wide", "paper"):
        res = chapter_resources(profile, "local", 0)
        assert (res.cpus, local_parallelism(res)) == (4, 1)
    smoke = chapter_resources("smoke", "local", 0)
    assert (smoke.cpus, local_parallelism(smoke)) == (1, 4)
    for profile in ("quick", "smoke"):
        res = chapter_resources(profile, "debug", 2)
        assert (res.cpus, local_parallelism(res)) == (2, 2)
    with pytest.raises(ConfigError, match="executor='slurm'.*python -m selcore sweep --executor slurm"):
        chapter_resources("quick", "slurm", 0)
    with pytest.raises(ConfigError, match="quik"):
        chapter_resources("quik", "local", 0)


@pytest.mark.slow
def test_local_sweep_runs_resumes_and_reports(tmp_path, monkeypatch, data_tar, capsys):
    """Two settings of SEL-95 through submitit's local executor: each folder named by its setting, results equal
    to the same run started by hand with the same threads, a rerun submits nothing, and a job that fails for a
    real reason says why in --status without stopping the others."""
    import torch

    from selcore.profiles import profile_config
    from selcore.engine.experiments import run_experiment
    monkeypatch.setenv("SELCORE_SWEEPS", str(tmp_path / "sweeps"))
    args = ["sweep", "--profile", "smoke", "--experiments", "sel95", "--grid", "percentile=30,50", "--executor",
            "local", "--cpus", "1", "--results-root", str(tmp_path / "results"), "--data", str(data_tar)]
    assert main(args) == 0
    out = capsys.readouterr()
    assert "4 finished" in out.out and "log: " in out.out
    res = tmp_path / "results" / "smoke"
    assert sorted(p.name for p in res.iterdir()) == ["percentile30", "percentile50"]
    torch.set_num_threads(1)  # as the job ran (--cpus 1): CPU results depend on the thread count
    cfg = profile_config("smoke", "sel95", data=str(data_tar), percentile=30).replace(progress="none")
    run_experiment(cfg, tmp_path / "by-hand")
    swept = pd.read_csv(res / "percentile30" / "seed42" / "hist_sel95.csv")
    by_hand = pd.read_csv(tmp_path / "by-hand" / "hist_sel95.csv")
    pd.testing.assert_frame_equal(swept.drop(columns="time_s"), by_hand.drop(columns="time_s"))
    record = SweepRecord(tmp_path / "sweeps" / "smoke-sel95-percentile")
    assert {r["state"] for r in status_table(record)} == {"finished"}
    assert all(Path(e["stderr"]).exists() for e in record.entries())
    # a rerun finds everything finished and submits nothing
    assert main(args) == 0
    assert "[1/" not in capsys.readouterr().err
    # a real failure (no such data) is reported with its reason, and is not retried
    bad = ["sweep", "--profile", "smoke", "--experiments", "baseline", "--executor", "local", "--results-root",
           str(tmp_path / "bad"), "--data", str(tmp_path / "missing.tar.gz"), "--name", "bad"]
    assert main(bad) == 1
    out = capsys.readouterr().out
    assert "1 failed" in out and "missing.tar.gz" in out, out


@pytest.mark.slow
def test_ctrl_c_in_a_local_sweep_ends_with_one_line_and_the_rerun_finishes(tmp_path, data_tar):
    """Ctrl-C reaches the sweep and its job controllers (one process group, as in a terminal): one line on the
    terminal, the controllers' KeyboardInterrupt tracebacks in the sweep's controllers.log, and the same command
    again finishes every job."""
    import os
    import signal
    import subprocess
    import sys
    import time
    env = dict(os.environ, SELCORE_SWEEPS=str(tmp_path / "sweeps"))
    cmd = [sys.executable, "-m", "selcore", "sweep", "--profile", "smoke", "--experiments", "sel95", "--grid",
           "percentile=30,50", "--executor", "local", "--cpus", "1", "--results-root", str(tmp_path / "results"),
           "--data", str(data_tar), "--name", "cc"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=default_sigint)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and not any((tmp_path / "results").rglob("sel95.pt")):
        time.sleep(0.5)  # until an SEL-95 job has finished its first epoch (of 5): its controller is running
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and lines[-1].startswith("interrupted") and "rerun" in lines[-1], err[-2000:]
    assert "KeyboardInterrupt" in (tmp_path / "sweeps" / "cc" / "controllers.log").read_text()
    again = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    record = SweepRecord(tmp_path / "sweeps" / "cc")
    assert [r["state"] for r in status_table(record)] == ["finished"] * 4


SWEEP_RESULTS = REPO / "results" / "quick" / "percentile30" / "seed42" / "run_sel95.json"


@pytest.mark.skipif(not SWEEP_RESULTS.exists(), reason="needs the committed quick sweep")
def test_sweep_report_reads_the_committed_sweep():
    """The sweep chapter's numbers, recomputed from the committed CSVs: 3 percentiles x 3 seeds of SEL-95."""
    from selcore.report import sweep as report
    jobs = plan_sweep("quick", ["sel95"], (42, 43, 44), parse_grid(["percentile=30,40,50"]), DATA_NAME,
                      results_root=REPO / "results")
    assert all(job_state(j, {}, set()).name == "finished" for j in jobs if j.kind == "experiment")
    res = report.sweep_results(jobs, "percentile")
    assert len(res) == 9 and sorted(res["percentile"].unique()) == [30.0, 40.0, 50.0]
    for _, r in res.iterrows():
        hist = pd.read_csv(Path(r["folder"]) / "hist_sel95.csv")
        assert r["test_100"] == pytest.approx(hist["test_100"].iloc[-1])
        assert r["sel_sparsity"] == pytest.approx(hist.loc[hist["stage"] > 0, "sparsity"].mean())
    stats = report.per_setting(res, "percentile")
    assert (stats["n"] == 3).all()
    s = stats.xs("sel95", level="experiment")
    assert s["sel_sparsity"].is_monotonic_increasing and s["gamma0"].is_monotonic_increasing
    # the threshold changes which entries are zeroed, not the images trained: executed FLOPs are the same
    assert res["exec_flops_T"].max() == pytest.approx(res["exec_flops_T"].min(), rel=1e-12)
    assert s["flops_T"].is_monotonic_decreasing
    text = report.finding(stats, "percentile", "sel95")
    assert text["exec"].startswith("stayed at") and text["values"] == "30, 40, 50" and text["n"] == "3"
    fig = report.figure(res, stats, "percentile", "sel95", "SEL-95%")
    acc_line = fig.axes[0].lines[0]
    assert list(acc_line.get_ydata()) == pytest.approx(list(s["test_100"]))


def test_status_of_an_unknown_sweep_names_the_known_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SELCORE_SWEEPS", str(tmp_path))
    SweepRecord(tmp_path / "mine").save()
    assert main(["sweep", "--status", "--name", "mien"]) == 2
    assert "no sweep named 'mien' (known: mine)" in capsys.readouterr().err
