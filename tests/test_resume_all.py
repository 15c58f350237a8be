"""Resuming any registered experiment gives the uninterrupted run's CSV, cost columns included; checkpoints
load with weights_only=True and a damaged one falls back to the previous generation (real images)."""
import json

import pandas as pd
import pytest
import torch

from selcore.engine import checkpoint
from selcore.config import ALL_EXPERIMENTS, COMMUNICATION
from selcore.engine.callbacks import Progress
from selcore.engine.experiments import run_experiment
from tests.conftest import tiny

pytestmark = pytest.mark.slow  # real training runs, interrupted and resumed: minutes on a CPU

SIZE = dict(train_per_class=30, num_epochs=3, lth_pretrain_epochs=2, warmup_epochs=2)


def _interrupt_after(monkeypatch, n_epochs: int):
    calls = {"n": 0}
    real = Progress.__call__

    def progress(self, run, ph, res):  # Ctrl-C right after the epoch's checkpoint (progress is the last callback)
        real(self, run, ph, res)
        calls["n"] += 1
        if calls["n"] == n_epochs:
            raise KeyboardInterrupt

    monkeypatch.setattr(Progress, "__call__", progress)
    return lambda: monkeypatch.setattr(Progress, "__call__", real)


@pytest.mark.parametrize("name", [e for e in ALL_EXPERIMENTS if e not in COMMUNICATION])  # workers: test_applications
def test_interrupted_then_resumed_equals_uninterrupted_costs_included(tmp_path, cifar, monkeypatch, name):
    cfg = tiny(name, **SIZE)
    ref, out = tmp_path / "ref", tmp_path / "out"
    for folder in (ref, out):  # the oracle order reads the finished Baseline of its folder
        if name == "oracle_order":
            run_experiment(tiny("baseline", **SIZE), folder, data=cifar)
    run_experiment(cfg, ref, data=cifar)
    restore = _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, out, data=cifar)
    restore()
    assert json.loads((out / f"run_{name}.json").read_text())["status"] == "interrupted"
    run_experiment(cfg, out, data=cifar)
    info = json.loads((out / f"run_{name}.json").read_text())
    assert info["status"] == "finished" and info["resumed"] is True
    a = pd.read_csv(ref / f"hist_{name}.csv").drop(columns="time_s")
    b = pd.read_csv(out / f"hist_{name}.csv").drop(columns="time_s")
    pd.testing.assert_frame_equal(a, b, check_exact=True)  # exec_flops_T, samples_seen ... included
    pa = json.loads((ref / f"run_{name}.json").read_text())["prior_cost"]
    pb = info["prior_cost"]
    assert (pa["exec_flops"], pa["samples"], pa["what"]) == (pb["exec_flops"], pb["samples"], pb["what"])


def test_checkpoints_load_with_weights_only_and_damage_falls_back_to_the_previous(tmp_path, cifar, monkeypatch):
    cfg = tiny("baseline", train_per_class=30, num_epochs=3)
    ref = run_experiment(cfg, tmp_path / "ref", data=cifar)
    out = tmp_path / "out"
    restore = _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, out, data=cifar)
    restore()
    ckpt = out / "checkpoints" / "baseline.pt"
    assert torch.load(ckpt, weights_only=True)["pos"] == [0, 2]
    assert torch.load(checkpoint.previous(ckpt), weights_only=True)["pos"] == [0, 1]
    ckpt.write_bytes(ckpt.read_bytes()[:1000])  # truncated
    logged = []
    st = checkpoint.load(ckpt, log=logged.append)
    assert st["pos"] == [0, 1] and "damaged" in logged[0] and str(ckpt) in logged[0] and len(logged) == 2
    run_experiment(cfg, out, data=cifar)  # resumes one epoch earlier, same numbers
    pd.testing.assert_frame_equal(pd.read_csv(ref).drop(columns="time_s"),
                                  pd.read_csv(out / "hist_baseline.csv").drop(columns="time_s"), check_exact=True)


def test_no_usable_checkpoint_says_how_to_start_over(tmp_path):
    ckpt = tmp_path / "checkpoints" / "sel95.pt"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"not a zip at all")
    torch.save({"evil": pd.Timestamp("2020-01-01")}, checkpoint.previous(ckpt))  # not loadable weights_only
    with pytest.raises(checkpoint.CheckpointError, match="fresh=True"):
        checkpoint.load(ckpt, log=lambda m: None)
    assert checkpoint.load(tmp_path / "none.pt") is None
