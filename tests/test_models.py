"""The CIFAR ResNet-18."""
import os
import subprocess
import sys

import pytest
import torch
import torchvision

from selcore.config import Config, ConfigError
from selcore.engine.models import WeightsUnavailable, build_model, count_params
from tests.conftest import REPO


def test_width_64_state_dict_matches_torchvision_resnet18_with_cifar_stem():
    tv = torchvision.models.resnet18()
    tv.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    tv.maxpool = torch.nn.Identity()
    tv.fc = torch.nn.Linear(512, 10)
    ours = build_model(64)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in tv.state_dict().items()}
    assert count_params(ours) == 11_173_962
    ours.load_state_dict(tv.state_dict())  # same layout: loads strictly
    x = torch.randn(2, 3, 32, 32)
    ours.eval(), tv.eval()
    assert torch.allclose(ours(x), tv(x), atol=1e-5)


@pytest.mark.parametrize("width", [8, 16])
def test_width_scales_channels(width):
    net = build_model(width)
    assert net.conv1.out_channels == width and net.fc.in_features == 8 * width
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_pretrained_without_weights_fails_at_once_with_a_way_out(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache; no network here
    with pytest.raises(WeightsUnavailable, match="pretrained=false"):
        build_model(64, pretrained=True)


def test_pretrained_needs_width_64():
    with pytest.raises(ConfigError, match="pretrained"):
        Config(pretrained=True, width=16)


def test_conv1_default_init_matches_nn_conv2d_and_kaiming_is_about_half():
    """conv1_init='default' (the original code) keeps nn.Conv2d's own init; 'kaiming' is torchvision's."""
    stds = {}
    for init in ("default", "kaiming"):
        vals = []
        for seed in range(4):
            torch.manual_seed(seed)
            vals.append(build_model(64, conv1_init=init).conv1.weight.detach().flatten())
        stds[init] = float(torch.cat(vals).std())
    ref = torch.cat([torch.nn.Conv2d(3, 64, 3, padding=1, bias=False).weight.detach().flatten() for _ in range(4)])
    n = ref.numel()  # 6,912 entries: the std's sampling error is about std / sqrt(2 n) ~ 0.9%
    assert stds["default"] == pytest.approx(float(ref.std()), rel=0.04)
    assert stds["default"] == pytest.approx((1 / (3 * 27)) ** 0.5, rel=0.04)   # U(-1/sqrt(27), 1/sqrt(27))
    assert stds["kaiming"] == pytest.approx((2 / (64 * 9)) ** 0.5, rel=0.04)  # N(0, 2 / fan_out)
    assert 0.45 < stds["kaiming"] / stds["default"] < 0.6 and n == 4 * 64 * 27
    # every other conv keeps torchvision's kaiming-normal either way
    torch.manual_seed(0)
    w = build_model(64).layer1[0].conv1.weight.detach()
    assert float(w.std()) == pytest.approx((2 / (64 * 9)) ** 0.5, rel=0.04)


def test_imagenet_weights_are_adapted_as_the_original_does_from_a_named_file(tmp_path):
    """A torchvision resnet18 state dict made here stands for the ImageNet file: every layer but conv1 and fc is
    loaded, conv1 (3x3 now) and fc (10 outputs) stay fresh, BatchNorm statistics come along."""
    torch.manual_seed(0)
    tv = torchvision.models.resnet18()
    with torch.no_grad():
        tv.bn1.running_mean.uniform_()
        tv.layer3[1].bn2.running_var.uniform_(1, 2)
    path = tmp_path / "resnet18-f37072fd.pth"
    torch.save(tv.state_dict(), path)
    torch.manual_seed(1)
    net = build_model(64, pretrained=True, weights_file=str(path))
    ours, theirs = net.state_dict(), tv.state_dict()
    loaded = [k for k in ours if not k.startswith(("conv1.", "fc."))]
    assert len(loaded) == len(theirs) - 3 and all(torch.equal(ours[k], theirs[k]) for k in loaded)
    assert ours["conv1.weight"].shape == (64, 3, 3, 3) and ours["fc.weight"].shape == (10, 512)
    torch.manual_seed(1)
    fresh = build_model(64)
    assert torch.equal(net.conv1.weight, fresh.conv1.weight) and torch.equal(net.fc.weight, fresh.fc.weight)


def test_the_paper_profile_is_pretrained_and_stops_before_any_work_without_the_weights(tmp_path, monkeypatch, capsys):
    from selcore.cli import main
    from selcore.profiles import profile_config
    assert profile_config("paper", "sel95").pretrained and not profile_config("quick", "sel95").pretrained
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))  # no hub cache; no network here
    assert main(["run", "--profile", "paper", "--book-dir", str(tmp_path / "book"),
                 "--results-root", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "resnet18-f37072fd.pth" in err[0] and "pretrained=false" in err[0]
    assert not (tmp_path / "results").exists() and not (tmp_path / "book").exists()  # nothing was started
    with pytest.raises(WeightsUnavailable, match="weights_file='nowhere.pth': cannot read it"):
        build_model(64, pretrained=True, weights_file="nowhere.pth")
    with pytest.raises(ConfigError, match="weights_file"):
        Config(weights_file="w.pth")  # read only with pretrained=true


def test_an_experiment_of_the_paper_profile_stops_before_training_without_the_weights(tmp_path, data_tar):
    env = {**os.environ, "TORCH_HOME": str(tmp_path / "empty")}
    r = subprocess.run([sys.executable, "-m", "selcore", "experiment", "baseline", "--profile", "paper", "--out",
                        str(tmp_path / "o"), "--data", str(data_tar)], cwd=REPO, capture_output=True, text=True, env=env, timeout=600)
    lines = [line for line in r.stderr.strip().splitlines() if "resnet18-f37072fd.pth" in line]
    assert r.returncode == 2 and len(lines) == 1 and "pretrained=false" in lines[0]
    assert not (tmp_path / "o" / "hist_baseline.csv").exists()  # no epoch trained
