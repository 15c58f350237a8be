"""A sweep on a real Slurm cluster (the one-node cluster of ``.ci/slurm``): jobs submitted through sbatch in two
waves, one job requeued mid-run (``scontrol requeue``, as a preemption does) and one sent the time-limit signal
(``SIGUSR2``, as Slurm does before the limit; submitit checkpoints and requeues it). Both must resume from their
last checkpoint, and every job's results must equal an uninterrupted run's, the cost columns included.

Skipped, with the reason, where no Slurm cluster is up; under CI (``CI`` or ``SELCORE_REQUIRE_SLURM`` set, as
``.ci/run`` does) a missing cluster fails instead.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import torch

from selcore.cli import main
from selcore.engine.experiments import run_experiment
from selcore.profiles import profile_config
from selcore.sweep.status import SweepRecord, queued_jobs, status_table

EPOCHS = 8  # long enough (seconds an epoch at the smoke size on one CPU) to stop a job in the middle: each
# Baseline is stopped once its CSV shows 3 epochs (polled every 0.1 s), 5 epochs before its end; the uninterrupted
# references run the same epochs again, one process per seed (each on one thread, as each job ran)


IDLE_WAIT_S = 600  # how long to wait for a busy node (another user's jobs) before giving up


def _cluster_up(wait_s: float = IDLE_WAIT_S) -> str:
    """'' when sbatch works and a node is idle (waiting up to ``wait_s`` for a busy one), else why not."""
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return "Slurm is not installed (bash .ci/slurm installs and starts a one-node cluster)"
    t0 = time.monotonic()
    while True:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
        if out.returncode == 0 and any(s.startswith(("idle", "mixed")) for s in out.stdout.split()):
            return ""
        busy = out.returncode == 0 and "allocated" in out.stdout
        if not busy or time.monotonic() - t0 > wait_s:
            queue = subprocess.run(["squeue", "-h", "-o", "%i %j %T %M"], capture_output=True, text=True).stdout
            return (f"no idle Slurm node after {time.monotonic() - t0:.0f}s (sinfo: "
                    f"{out.stdout.strip() or out.stderr.strip()}; queue: {queue.strip() or 'empty'}); "
                    "run bash .ci/slurm")
        time.sleep(5)


@pytest.fixture(scope="module")
def slurm():
    why = _cluster_up()
    if why:
        if os.environ.get("CI") or os.environ.get("SELCORE_REQUIRE_SLURM"):
            pytest.fail(f"CI must run the Slurm tests: {why}")
        pytest.skip(why)


@pytest.fixture
def sweeps(tmp_path, monkeypatch):
    """The sweep records' folder of one test; every job the test submitted is cancelled when it ends, so that a
    failing test does not leave the node allocated for the next one."""
    root = tmp_path / "sweeps"
    monkeypatch.setenv("SELCORE_SWEEPS", str(root))
    yield root
    ids = [e["job_id"] for d in root.glob("*") if d.is_dir() for e in SweepRecord(d).entries() if e.get("job_id")]
    if ids:
        subprocess.run(["scancel", *sorted(set(ids))], capture_output=True)


def _wait(predicate, timeout: float, what: str, poll: float = 0.1):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def _rows(csv: Path) -> int:
    try:
        return max(0, len(csv.read_text().splitlines()) - 1)
    except FileNotFoundError:
        return 0


def _release(job_id: str) -> None:
    """A requeued job waits about two minutes before it may start again (Slurm's begin time): start it now."""
    def pending():
        state = queued_jobs([job_id]).get(job_id, "")
        return state.startswith("PENDING")
    _wait(pending, 120, f"job {job_id} back in the queue", poll=0.5)
    subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], check=True)


def uninterrupted(job: tuple[int, str, str]) -> None:
    """The uninterrupted references of one seed (seed, data, folder): its Baseline and oracle order, run as the
    sweep's jobs ran them (one thread, ``--cpus 1``); a function of this module, so that a spawned process can run
    it."""
    seed, data, folder = job
    torch.set_num_threads(1)
    for exp in ("baseline", "oracle_order"):
        cfg = profile_config("smoke", exp, data=data, num_epochs=EPOCHS).replace(seed=seed, progress="none")
        run_experiment(cfg, folder)


@pytest.mark.slow
def test_requeued_jobs_resume_and_equal_uninterrupted_runs(slurm, sweeps, tmp_path, data_tar, capsys):
    results = tmp_path / "results"
    args = ["sweep", "--profile", "smoke", "--experiments", "oracle_order", "--seeds", "42,43",
            "--set", f"num_epochs={EPOCHS}", "--executor", "slurm", "--cpus", "1", "--mem-gb", "2", "--time", "30",
            "--results-root", str(results), "--data", str(data_tar), "--name", "requeue"]
    assert main(args) == 0
    record = SweepRecord(sweeps / "requeue")
    ids = {e["key"]: e["job_id"] for e in record.entries()}
    assert len(ids) == 6, ids  # per seed: curriculum + Baseline (wave 0), oracle order (wave 1)
    # wave 1 waits for its own folder's wave-0 jobs
    deps = subprocess.run(["squeue", "-h", "-r", "-j", ids[f"smoke/num_epochs{EPOCHS}/seed42/oracle_order"],
                           "-o", "%E"], capture_output=True, text=True).stdout
    assert ids[f"smoke/num_epochs{EPOCHS}/seed42/baseline"] in deps or "(null)" in deps, deps
    folder = {s: results / "smoke" / f"num_epochs{EPOCHS}" / f"seed{s}" for s in (42, 43)}

    # seed 42's Baseline: requeued by the scheduler mid-run (preemption); seed 43's: the time-limit signal
    stopped = {}
    for seed, how in ((42, "requeue"), (43, "usr2")):
        jid = ids[f"smoke/num_epochs{EPOCHS}/seed{seed}/baseline"]
        csv = folder[seed] / "hist_baseline.csv"
        _wait(lambda: _rows(csv) >= 3, 300, f"3 epochs of seed {seed}'s Baseline")
        stopped[seed] = _rows(csv)
        assert stopped[seed] < EPOCHS, "the job finished before it could be stopped"
        if how == "requeue":
            subprocess.run(["scontrol", "requeue", jid], check=True)
        else:
            subprocess.run(["scancel", "--signal=USR2", jid], check=True)
        _release(jid)

    _wait(lambda: not queued_jobs(ids.values()), 600, "every job to leave the queue", poll=1.0)
    rows = {r["job"]: r for r in status_table(record)}
    assert {r["state"] for r in rows.values()} == {"finished"}, rows

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:  # the two seeds at once
        list(pool.map(uninterrupted, [(seed, str(data_tar), str(tmp_path / "by-hand" / f"seed{seed}"))
                                      for seed in (42, 43)]))
    for seed in (42, 43):
        info = json.loads((folder[seed] / "run_baseline.json").read_text())
        assert info["resumed"] is True
        # nothing finished was lost: the run went on from at least the epoch the CSV showed when it was stopped
        # (that row may be written just before its checkpoint)
        assert info["resumed_at_epoch"] >= stopped[seed] - 1, (info["resumed_at_epoch"], stopped[seed])
        log = Path(rows[f"smoke/num_epochs{EPOCHS}/seed{seed}/baseline"]["stdout"]).read_text()
        assert "Slurm restart count 1" in log, log[-2000:]
        # equal to an uninterrupted run, cost columns included (no epoch counted twice)
        by_hand = tmp_path / "by-hand" / f"seed{seed}"
        for exp in ("baseline", "oracle_order"):
            swept, ref = (pd.read_csv(f / f"hist_{exp}.csv") for f in (folder[seed], by_hand))
            assert len(swept) == (EPOCHS if exp == "baseline" else 5)
            pd.testing.assert_frame_equal(swept.drop(columns="time_s"), ref.drop(columns="time_s"))
    # the time-limit signal went through submitit's checkpoint-and-requeue (its log is appended across restarts)
    out = Path(rows[f"smoke/num_epochs{EPOCHS}/seed43/baseline"]["stdout"]).read_text()
    assert "Caught signal SIGUSR2" in out and "Requeued job" in out, out[-2000:]
    assert "Slurm restart count 0" in out and "Slurm restart count 1" in out
    # the status command lists them, with their logs
    assert main(["sweep", "--status", "--name", "requeue"]) == 0
    out = capsys.readouterr().out
    assert "6 finished" in out and out.count("log: ") == 6


@pytest.mark.slow
def test_a_real_failure_is_not_requeued_and_says_why(slurm, sweeps, tmp_path, capsys):
    """A job that fails for a real reason (here: no such data) ends failed, with the reason in --status, and
    Slurm does not run it again."""
    args = ["sweep", "--profile", "smoke", "--experiments", "baseline", "--executor", "slurm", "--cpus", "1",
            "--mem-gb", "1", "--time", "5", "--results-root", str(tmp_path / "results"),
            "--data", str(tmp_path / "missing.tar.gz"), "--name", "fails", "--wait"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "1 failed" in out and "missing.tar.gz" in out, out
    [entry] = SweepRecord(sweeps / "fails").entries()
    log = Path(entry["stdout"]).read_text()
    assert log.count("sweep job smoke/seed42/baseline") == 1, log  # ran once: not requeued
    assert "Requeued" not in log
