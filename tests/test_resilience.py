"""Runs that survive: kill-and-resume identity, atomic results, determinism, loud failures (real images)."""
import errno
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

import selcore.engine.experiments as ex
from selcore.engine.experiments import Experiment, run_experiment
from selcore.report.summary import PartialResults, load_results, summary_table
from selcore.engine.train import Divergence, ResourceError
from tests.conftest import REPO, tiny


def same_numbers(a, b):
    """CSV equality but for the wall-clock column."""
    da, db = pd.read_csv(a).drop(columns="time_s"), pd.read_csv(b).drop(columns="time_s")
    pd.testing.assert_frame_equal(da, db, check_exact=True)


RESUME = {  # bigger epochs than tiny(), so that a kill lands inside one
    "lottery": dict(train_per_class=100, num_epochs=3, lth_pretrain_epochs=2),
    "warmup": dict(train_per_class=100, warmup_per_class=20, warmup_epochs=2, stage_epochs=(1, 2, 1, 1, 1)),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RESUME))
def test_sigkill_mid_epoch_then_resume_gives_the_identical_csv(tmp_path, cifar, data_tar, name):
    cfg = tiny(name, **RESUME[name])
    ref = run_experiment(cfg, tmp_path / "ref", data=cifar)
    out = tmp_path / "killed"
    sets = [f"--set={k}={','.join(map(str, v)) if isinstance(v, tuple) else v}"
            for k, v in cfg.to_dict().items() if k not in ("experiment", "data", "data_cache")]
    cmd = [sys.executable, "-m", "selcore", "experiment", name, "--out", str(out), "--data", str(data_tar), *sets]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = out / "checkpoints" / f"{name}.pt"
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    first = ckpt.stat().st_mtime_ns
    while ckpt.stat().st_mtime_ns == first and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)  # the second epoch has just ended: kill inside the third
    time.sleep(0.3)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    info = json.loads((out / f"run_{name}.json").read_text())
    assert info["status"] == "running"  # really interrupted
    done = tuple(torch.load(ckpt, weights_only=True)["pos"])
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads((out / f"run_{name}.json").read_text())["resumed"] is True
    assert done != (0, 0)
    same_numbers(ref, out / f"hist_{name}.csv")


@pytest.mark.slow
def test_same_seed_same_csv_other_seed_other_csv(tmp_path, cifar):
    a = run_experiment(tiny("sel95", deterministic=True), tmp_path / "a", data=cifar)
    b = run_experiment(tiny("sel95", deterministic=True), tmp_path / "b", data=cifar)
    c = run_experiment(tiny("sel95", deterministic=True, seed=7), tmp_path / "c", data=cifar)
    same_numbers(a, b)
    with pytest.raises(AssertionError):
        same_numbers(a, c)
    info = json.loads((tmp_path / "a" / "run_sel95.json").read_text())
    assert info["config"]["deterministic"] is True and info["seed"] == 42
    assert torch.are_deterministic_algorithms_enabled()  # the runs switched it on; conftest switches it back


def test_eval_batch_size_is_bookkeeping_the_same_logits_and_scores_bit_for_bit(cifar):
    """On a CPU the test logits and the difficulty scores are the same bit for bit at the old evaluation batch
    (1000) and the new default (200), on real images at the quick width; so a run recorded at 1000 is the same run."""
    from selcore.config import Config
    from selcore.engine import sel
    from selcore.engine.data import DeviceData
    from selcore.engine.models import build_model
    from selcore.engine.train import test_logits
    torch.manual_seed(0)
    data = DeviceData(cifar, torch.device("cpu"), 100, 10, 100)
    net = build_model(width=16)
    assert torch.equal(test_logits(net, data.test_x, 1000), test_logits(net, data.test_x, 200))
    x = data.train_eval_batch(torch.arange(len(data)))
    assert torch.equal(sel.difficulty_scores(net, x, data.train_y, 1000), sel.difficulty_scores(net, x, data.train_y, 200))
    assert Config().eval_batch_size == 200 and "eval_batch_size" not in Config().identity()
    recorded = {**Config().identity(), "eval_batch_size": 1000}
    assert Config.completed_identity(recorded) == Config().identity()


@pytest.mark.slow
def test_nan_loss_stops_with_epoch_step_and_last_finite_loss(tmp_path, cifar, monkeypatch):
    calls = {"n": 0}
    real = torch.nn.functional.cross_entropy

    class Poisoned:
        def __getattr__(self, name):
            return getattr(torch.nn.functional, name)

        @staticmethod
        def cross_entropy(*a, **k):
            calls["n"] += 1
            loss = real(*a, **k)
            return loss * float("nan") if calls["n"] == 9 else loss  # 7 steps per epoch: epoch 2, step 2

    monkeypatch.setattr("selcore.engine.train.F", Poisoned())
    exp = Experiment(tiny("baseline", num_epochs=3), tmp_path, data=cifar)
    with pytest.raises(Divergence) as e:
        exp.run()
    msg = str(e.value)
    assert "epoch 2" in msg and "step 2 " in msg and "last finite loss" in msg and "\n" not in msg
    assert torch.load(tmp_path / "checkpoints" / "baseline.pt", weights_only=True)["pos"] == [0, 1]
    assert json.loads((tmp_path / "run_baseline.json").read_text())["status"] == "failed"
    assert len(pd.read_csv(tmp_path / "hist_baseline.csv")) == 1


def test_out_of_memory_names_the_batch_size(tmp_path, cifar, monkeypatch):
    def oom(*a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory")
    monkeypatch.setattr(ex, "train_epoch", oom)
    with pytest.raises(ResourceError, match="out of memory .* batch_size=32"):
        Experiment(tiny("baseline"), tmp_path, data=cifar).run()


@pytest.mark.slow
def test_full_disk_keeps_the_previous_checkpoint(tmp_path, cifar, monkeypatch):
    real_save, calls = torch.save, {"n": 0}

    def save(obj, f, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *a, **k)
    monkeypatch.setattr(ex.torch, "save", save)
    with pytest.raises(ResourceError, match="previous checkpoint is kept"):
        Experiment(tiny("baseline", num_epochs=3), tmp_path, data=cifar).run()
    monkeypatch.undo()
    ckpt = tmp_path / "checkpoints" / "baseline.pt"
    assert torch.load(ckpt, weights_only=True)["pos"] == [0, 1]
    assert not list(ckpt.parent.glob("*.tmp"))
    run_experiment(tiny("baseline", num_epochs=3), tmp_path, data=cifar)  # resumes to the end
    assert len(pd.read_csv(tmp_path / "hist_baseline.csv")) == 3


@pytest.mark.slow
def test_unfinished_results_are_refused_unless_partial(tmp_path, cifar, monkeypatch):
    run_experiment(tiny("baseline"), tmp_path, data=cifar)
    info = json.loads((tmp_path / "run_baseline.json").read_text())
    info["status"] = "running"
    (tmp_path / "run_baseline.json").write_text(json.dumps(info))
    with pytest.raises(PartialResults, match="not finished"):
        load_results(tmp_path)
    t = summary_table(load_results(tmp_path, partial=True))
    assert t.loc["baseline", "System"] == "Baseline CNN (partial: 2 epochs)"
    r = subprocess.run([sys.executable, "-m", "selcore", "summary", str(tmp_path)], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "not finished" in r.stderr


def test_atomic_writes_leave_no_partial_file(tmp_path, monkeypatch):
    from selcore.engine.results import atomic_write_bytes
    target = tmp_path / "hist_x.csv"
    atomic_write_bytes(target, b"old\n")

    def broken_replace(*a):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new but never complete\n")
    assert target.read_bytes() == b"old\n" and not list(tmp_path.glob("*.tmp"))


def test_resume_refuses_other_parameters(tmp_path, cifar):
    from selcore.config import ConfigError
    exp = Experiment(tiny("baseline", num_epochs=3), tmp_path, data=cifar)
    exp.setup()
    exp.plan()
    exp.save_checkpoint()
    with pytest.raises(ConfigError, match="other parameters.*lr"):
        Experiment(tiny("baseline", num_epochs=3, lr=0.01), tmp_path, data=cifar).run()


@pytest.mark.slow
def test_bad_parameters_through_papermill_fail_before_any_work(tmp_path, data_tar):
    import papermill as pm
    with pytest.raises(pm.PapermillExecutionError) as e:
        pm.execute_notebook(str(REPO / "chapters" / "baseline.ipynb"), str(tmp_path / "out.ipynb"),
                            parameters={"profile": "smoke", "data": str(data_tar), "num_epochs": 0,
                                        "results_root": str(tmp_path / "results")},
                            cwd=str(REPO), kernel_name="python3", progress_bar=False)
    assert e.value.ename == "ConfigError" and "num_epochs=0" in e.value.evalue
    assert not list((tmp_path / "results").rglob("hist_*.csv"))
    with pytest.raises(pm.PapermillExecutionError) as e:
        pm.execute_notebook(str(REPO / "chapters" / "sel95.ipynb"), str(tmp_path / "out2.ipynb"),
                            parameters={"profile": "fast", "results_root": str(tmp_path / "results")},
                            cwd=str(REPO), kernel_name="python3", progress_bar=False)
    assert e.value.ename == "ConfigError" and "profile='fast'" in e.value.evalue
    with pytest.raises(pm.PapermillExecutionError) as e:   # a parameter the chapter does not declare
        pm.execute_notebook(str(REPO / "chapters" / "sel95.ipynb"), str(tmp_path / "out3.ipynb"),
                            parameters={"profile": "smoke", "percentil": 70, "results_root": str(tmp_path / "results")},
                            cwd=str(REPO), kernel_name="python3", progress_bar=False)
    assert e.value.ename == "ConfigError" and "no parameter 'percentil'" in e.value.evalue
    assert "percentile" in e.value.evalue and not list((tmp_path / "results").rglob("hist_*.csv"))


@pytest.mark.slow
def test_runner_rejects_bad_profile_and_chapter_in_one_line(tmp_path):
    for args in (["--profile", "fast"], ["--profile", "smoke", "--only", "nonsense"]):
        r = subprocess.run([sys.executable, "-m", "selcore", "run", *args, "--book-dir", str(tmp_path)], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error:")
