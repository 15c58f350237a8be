"""Lottery Ticket: global magnitude masks, exact rewind, pruned weights stay zero (real images)."""
import pytest
import torch

from selcore.engine import lottery
from selcore.engine.data import DeviceData
from selcore.engine.models import build_model
from selcore.engine.train import MaskHook, make_optimizer, train_epoch


@pytest.mark.parametrize("scope", ["all", "conv_linear"])
def test_global_magnitude_masks_keep_20_percent(scope):
    torch.manual_seed(0)
    net = build_model(16)
    masks = lottery.global_magnitude_masks(net, 0.8, scope)
    kept = sum(float(m.sum()) for m in masks.values()) / sum(m.numel() for m in masks.values())
    assert kept == pytest.approx(0.20, abs=0.001)
    assert lottery.mask_sparsity(masks) == pytest.approx(0.80, abs=0.001)
    if scope == "conv_linear":
        assert all(k.endswith("weight") and "bn" not in k and "downsample.1" not in k for k in masks)
    # the threshold is global: every kept |w| is larger than every removed one
    params = dict(net.named_parameters())
    kept_min = min(params[k].abs()[m.bool()].min() for k, m in masks.items() if m.any())
    cut_max = max(params[k].abs()[~m.bool()].max() for k, m in masks.items() if (~m.bool()).any())
    assert kept_min > cut_max


def _trained_and_pruned(cifar):
    torch.manual_seed(0)
    net = build_model(8)
    init = lottery.snapshot(net)
    data = DeviceData(cifar, torch.device("cpu"), train_per_class=20)
    opt = make_optimizer(net, 1e-3)
    train_epoch(net, opt, data, torch.arange(len(data)), 32, torch.Generator().manual_seed(0))
    assert not torch.equal(net.conv1.weight, init["conv1.weight"])  # training moved the weights
    return net, init, lottery.global_magnitude_masks(net, 0.8), data


@pytest.mark.slow  # trains an epoch
def test_rewind_restores_initial_state_exactly_then_masks_at_once(cifar):
    net, init, masks, _ = _trained_and_pruned(cifar)
    lottery.rewind(net, init, masks, mask_now=True)  # rewind_masking='at_rewind'
    state = net.state_dict()
    for k, v in init.items():
        expect = v * masks[k] if k in masks else v
        assert torch.equal(state[k], expect), k  # bit-exact, BN buffers included


@pytest.mark.slow
def test_original_rewind_is_dense_until_the_first_step_which_leaves_pruned_entries_at_zero(cifar):
    """rewind_masking='after_step' (the original code): the rewound network is the dense initial one; the
    masks act after each optimizer step, the first included."""
    net, init, masks, data = _trained_and_pruned(cifar)
    lottery.rewind(net, init, masks)
    state = net.state_dict()
    assert all(torch.equal(state[k], v) for k, v in init.items())  # dense w0, pruned entries not yet zero
    assert any(bool((state[k][m == 0] != 0).any()) for k, m in masks.items())
    opt = make_optimizer(net, 1e-3)
    first = torch.arange(32)
    train_epoch(net, opt, data, first, 32, torch.Generator().manual_seed(1), [MaskHook(masks)])  # one step
    params = dict(net.named_parameters())
    for k, m in masks.items():
        assert (params[k][m == 0] == 0).all(), k
        kept = m == 1
        assert not torch.equal(params[k][kept], init[k][kept]) or k.endswith("bias"), k  # the kept ones moved


@pytest.mark.slow
def test_pruned_weights_stay_zero_through_retraining(cifar):
    torch.manual_seed(1)
    net = build_model(8)
    masks = lottery.global_magnitude_masks(net, 0.8)
    lottery.apply_masks(net, masks)
    data = DeviceData(cifar, torch.device("cpu"), train_per_class=30)
    opt = make_optimizer(net, 1e-2)
    before = {k: v.clone() for k, v in net.named_parameters()}
    res = train_epoch(net, opt, data, torch.arange(len(data)), 32, torch.Generator().manual_seed(0),
                      [MaskHook(masks)])
    params = dict(net.named_parameters())
    for k, m in masks.items():
        assert (params[k][m == 0] == 0).all(), k
    moved = sum(int((params[k] != before[k]).sum()) for k in masks)
    assert moved > 0 and res.extra["sparsity"] == pytest.approx(0.8, abs=0.001)
