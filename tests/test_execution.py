"""Execution modes (Config.engine, Config.channels_last): the same network, other kernels; part of a run's identity,
old runs read as eager; runs in every mode train, checkpoint plain state dicts and resume exactly (real images)."""
import json

import pandas as pd
import pytest
import torch

from selcore.config import Config, ConfigError
from selcore.engine import checkpoint, execution, train
from selcore.engine.data import DeviceData
from selcore.engine.callbacks import Progress
from selcore.engine.experiments import run_experiment
from selcore.engine.models import build_model

from selcore.paths import RunPaths
from tests.conftest import tiny


def test_modes_enter_the_identity_and_runs_recorded_before_them_read_as_eager_contiguous():
    fast = Config(engine="compile", channels_last=True)
    assert fast.identity()["engine"] == "compile" and fast.identity()["channels_last"] is True
    recorded = {k: v for k, v in Config().identity().items() if k not in ("engine", "channels_last")}
    completed = Config.completed_identity(recorded)
    assert (completed["engine"], completed["channels_last"]) == ("eager", False)  # what the code did then
    assert completed == Config(engine="eager", channels_last=False).identity()
    assert completed != fast.identity()
    with pytest.raises(ConfigError, match=r"^bad parameter engine='compiled': must be 'eager' or 'compile'$"):
        Config().replace(engine="compiled")
    with pytest.raises(ConfigError, match="channels_last"):
        Config().replace(channels_last="sometimes")


def test_channels_last_computes_the_same_logits_up_to_rounding_and_keeps_the_plain_state_dict(cifar):
    data = DeviceData(cifar, torch.device("cpu"), 20, 10, 20)
    torch.manual_seed(0)
    net = build_model(16)
    ref = train.test_logits(net, data.test_x, 200)
    keys = list(net.state_dict())
    fwd = execution.prepare(net, "eager", True)
    assert net.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert list(net.state_dict()) == keys  # the wrapper shares net's parameters; checkpoints keep net's keys
    cl = train.test_logits(fwd, data.test_x, 200)
    assert torch.allclose(ref, cl, rtol=1e-4, atol=1e-4)
    assert execution.prepare(net, "eager", False) is net
    with pytest.raises(ValueError, match="engine"):
        execution.prepare(net, "graph", False)


@pytest.mark.slow
@pytest.mark.parametrize("engine,channels_last,experiments", [("eager", True, ("sel95", "lottery")),
                                                               ("compile", True, ("baseline", "lottery"))])
def test_a_run_in_each_mode_resumes_to_the_uninterrupted_runs_csv(tmp_path, cifar, monkeypatch, engine,
                                                                  channels_last, experiments):
    """SEL-95 (the guilt-threshold hook around the channels-last network), the Lottery Ticket (masks by parameter
    name on the network the optimizer holds) and, compiled, the Baseline and the Lottery Ticket: interrupted after
    two epochs and resumed, bit for bit the run that was not interrupted; the checkpoint holds the plain network's
    keys. (A compiled SEL-95 run is not reproducible within one process: see ``execution``'s module doc.)"""
    calls = {"n": 0}
    real = Progress.__call__

    def progress(self, run, ph, res):
        real(self, run, ph, res)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    for name in experiments:
        cfg = tiny(name, train_per_class=30, engine=engine, channels_last=channels_last)
        ref, out = tmp_path / name / "ref", tmp_path / name / "out"
        run_experiment(cfg, ref, data=cifar)
        calls["n"] = 0
        monkeypatch.setattr(Progress, "__call__", progress)
        with pytest.raises(KeyboardInterrupt):
            run_experiment(cfg, out, data=cifar)
        monkeypatch.setattr(Progress, "__call__", real)
        state = checkpoint.load(RunPaths(out, name).checkpoint)
        assert "conv1.weight" in state["net"] and state["pos"] != [0, 0]
        run_experiment(cfg, out, data=cifar)
        info = json.loads((out / f"run_{name}.json").read_text())
        assert info["status"] == "finished" and info["resumed"] is True
        assert (info["identity"]["engine"], info["identity"]["channels_last"]) == (engine, channels_last)
        a = pd.read_csv(ref / f"hist_{name}.csv").drop(columns="time_s")
        b = pd.read_csv(out / f"hist_{name}.csv").drop(columns="time_s")
        pd.testing.assert_frame_equal(a, b, check_exact=True)
