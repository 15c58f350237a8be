"""The SEL formulas against hand-computed values."""
import math

import numpy as np
import pytest
import torch

from selcore import schedules
from selcore.engine import sel
def test_class_embarrassment_is_mean_temperature_scaled_ce_per_class():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    y = torch.tensor([0, 1, 1])
    T = 1.5

    def ce(row, target):
        z = [v / T for v in row]
        return -z[target] + math.log(sum(math.exp(v) for v in z))

    E = sel.class_embarrassment(logits, y, num_classes=3, temperature=T)
    expect = [ce([2, 0, 0], 0), (ce([0, 1, 0], 1) + ce([1, 1, 1], 1)) / 2, 0.0]  # class 2 absent -> 0
    assert E.tolist() == pytest.approx(expect, rel=1e-6)


def test_class_confidence_is_clamped_and_zero_for_absent_classes():
    E = torch.tensor([0.2, 1.5, 0.0])
    assert sel.class_confidence(E).tolist() == pytest.approx([0.8, 0.0, 1.0])
    present = torch.tensor([True, True, False])
    assert sel.class_confidence(E, present).tolist() == pytest.approx([0.8, 0.0, 0.0])


def test_guilt_percentile_is_numpy_linear_percentile():
    v = torch.arange(1.0, 11.0)  # 1..10: p40 at position 0.4 * 9 = 3.6 -> 4.6
    assert sel.guilt_percentile(v, 40) == pytest.approx(4.6)
    r = torch.rand(1000)
    assert sel.guilt_percentile(r, 40) == pytest.approx(float(np.percentile(r.numpy(), 40)))


def test_calibrate_gamma_is_the_percentile_of_abs_grad_and_leaves_model_unchanged():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    x, y = torch.randn(8, 3, 2, 2), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    before = [p.detach().clone() for p in net.parameters()]
    gamma = sel.calibrate_gamma(net, x, y, percentile=40, mode="train")
    ref = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    ref.load_state_dict(net.state_dict())
    torch.nn.functional.cross_entropy(ref(x), y).backward()
    g = torch.cat([p.grad.abs().flatten() for p in ref.parameters()])
    assert gamma == pytest.approx(float(np.percentile(g.numpy(), 40)))
    assert (g <= gamma).float().mean().item() == pytest.approx(0.4, abs=1 / len(g) + 1e-9)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert all(p.grad is None for p in net.parameters())


def _bn_net_with_running_stats():
    """A conv + BatchNorm network whose running statistics are far from the batch's (non-trivial)."""
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 3))
    with torch.no_grad():
        net[1].running_mean.copy_(torch.tensor([0.5, -1.0, 2.0, 0.0]))
        net[1].running_var.copy_(torch.tensor([4.0, 0.25, 9.0, 1.0]))
    x, y = torch.randn(16, 3, 4, 4), torch.arange(16) % 3
    return net, x, y


def _hand_gamma(net, x, y, percentile, eval_mode: bool):
    """gamma0 computed by hand: BN written out with the running (eval) or the batch (train) statistics."""
    conv, bn, lin = net[0], net[1], net[4]
    w = {k: v.detach().clone().requires_grad_(True) for k, v in
         (("cw", conv.weight), ("cb", conv.bias), ("g", bn.weight), ("b", bn.bias), ("lw", lin.weight), ("lb", lin.bias))}
    h = torch.nn.functional.conv2d(x, w["cw"], w["cb"], padding=1)
    if eval_mode:
        mean, var = bn.running_mean.view(1, -1, 1, 1), bn.running_var.view(1, -1, 1, 1)
    else:
        mean, var = h.mean((0, 2, 3), keepdim=True), h.var((0, 2, 3), unbiased=False, keepdim=True)
    h = (h - mean) / torch.sqrt(var + bn.eps) * w["g"].view(1, -1, 1, 1) + w["b"].view(1, -1, 1, 1)
    out = torch.relu(h).flatten(1) @ w["lw"].T + w["lb"]
    torch.nn.functional.cross_entropy(out, y).backward()
    order = ("cw", "cb", "g", "b", "lw", "lb")  # = net.parameters() order
    g = torch.cat([w[k].grad.abs().flatten() for k in order])
    return float(np.percentile(g.numpy(), percentile))


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_calibration_mode_is_honoured_and_equals_a_hand_computation(mode):
    net, x, y = _bn_net_with_running_stats()
    buffers = {k: b.clone() for k, b in net.named_buffers()}
    net.train()
    gamma = sel.calibrate_gamma(net, x, y, percentile=40, mode=mode)
    assert gamma == pytest.approx(_hand_gamma(net, x, y, 40, eval_mode=mode == "eval"), rel=1e-5)
    assert net.training  # the caller's mode is restored
    assert all(torch.equal(b, buffers[k]) for k, b in net.named_buffers())  # running stats untouched


def test_calibration_modes_differ_on_non_trivial_running_statistics():
    net, x, y = _bn_net_with_running_stats()
    g_eval = sel.calibrate_gamma(net, x, y, 40, mode="eval")
    g_train = sel.calibrate_gamma(net, x, y, 40, mode="train")
    assert abs(g_eval - g_train) > 0.05 * max(g_eval, g_train)
    with pytest.raises(ValueError, match="eval"):
        sel.calibrate_gamma(net, x, y, 40, mode="inference")


def test_sparse_update_zeroes_entries_at_or_below_gamma_and_returns_fraction():
    net = torch.nn.Linear(2, 2)
    net.weight.grad = torch.tensor([[0.1, -0.6], [0.5, 2.0]])
    net.bias.grad = torch.tensor([-0.5, 0.7])
    frac = sel.sparse_update(net, gamma=0.5)
    assert net.weight.grad.flatten().tolist() == pytest.approx([0.0, -0.6, 0.0, 2.0])
    assert net.bias.grad.tolist() == pytest.approx([0.0, 0.7])
    assert float(frac) == pytest.approx(3 / 6)  # 0.1, 0.5 (equal counts as zeroed), -0.5


def test_sparse_update_equals_the_per_tensor_rule_on_a_resnet_gradient():
    from selcore.engine.models import build_model
    torch.manual_seed(0)
    net = build_model(8)
    torch.nn.functional.cross_entropy(net(torch.randn(16, 3, 32, 32)), torch.arange(16) % 10).backward()
    grads = [p.grad.clone() for p in net.parameters()]
    gamma = sel.guilt_percentile(torch.cat([g.abs().flatten() for g in grads]), 40)
    frac = sel.sparse_update(net, gamma)
    expect = [g * (g.abs() > gamma) for g in grads]
    assert all(torch.equal(p.grad, e) for p, e in zip(net.parameters(), expect))
    zeroed = sum(int((g.abs() <= gamma).sum()) for g in grads)
    total = sum(g.numel() for g in grads)
    assert float(frac) == zeroed / total or float(frac) == pytest.approx(zeroed / total, rel=1e-6)
    assert 0.35 < float(frac) < 0.45


def test_stage_gamma_decays_linearly():
    got = [schedules.stage_gamma(2.0, s, 5, 0.3) / 2.0 for s in range(5)]
    assert got == pytest.approx([1.00, 0.94, 0.88, 0.82, 0.76])


def test_sel_lr_scales_with_loss():
    assert float(sel.sel_lr(1e-3, torch.tensor(0.5))) == pytest.approx(2e-3)
    assert float(sel.sel_lr(1e-3, torch.tensor(0.0))) == pytest.approx(1e-3)


PAPER = ((0.00, 0.25), (0.20, 0.50), (0.40, 0.65), (0.60, 0.82), (0.78, 1.00))


def test_stage_windows_at_paper_size():
    order = [torch.arange(c * 5000, (c + 1) * 5000) for c in range(10)]
    sizes = [len(schedules.stage_indices(order, a, b)) // 10 for a, b in PAPER]
    assert sizes == [1250, 1500, 1250, 1100, 1100]
    s2 = schedules.stage_indices(order, 0.20, 0.50)
    assert s2[0].item() == 1000 and s2[1499].item() == 2499 and s2[1500].item() == 5000 + 1000


def test_stage_windows_cap_at_2000_per_class():
    order = [torch.arange(20000)]
    w = schedules.stage_indices(order, 0.20, 0.50, cap=2000)  # int(0.2*20000) = 4000, end = min(10000, 6000)
    assert len(w) == 2000 and w[0].item() == 4000 and w[-1].item() == 5999


def test_sort_by_difficulty_orders_each_class_easy_to_hard():
    y = torch.tensor([0, 1, 0, 1, 0])
    scores = torch.tensor([0.9, 0.2, 0.1, 0.8, 0.5])
    order = schedules.sort_by_difficulty(scores, y, num_classes=2)
    assert order[0].tolist() == [2, 4, 0] and order[1].tolist() == [1, 3]
    assert schedules.easiest_indices(order, 1).tolist() == [2, 1]


def test_difficulty_scores_are_per_sample_cross_entropy():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    x, y = torch.randn(5, 3, 2, 2), torch.tensor([0, 1, 2, 0, 1])
    s = sel.difficulty_scores(net, x, y, batch_size=2)
    ref = torch.nn.functional.cross_entropy(net(x), y, reduction="none")
    assert torch.allclose(s, ref.detach())
