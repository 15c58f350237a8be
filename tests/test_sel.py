"""The SEL formulas against hand-computed values."""
import math

import numpy as np
import pytest
import torch

from selcore import sel


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
    gamma = sel.calibrate_gamma(net, x, y, percentile=40)
    ref = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    ref.load_state_dict(net.state_dict())
    torch.nn.functional.cross_entropy(ref(x), y).backward()
    g = torch.cat([p.grad.abs().flatten() for p in ref.parameters()])
    assert gamma == pytest.approx(float(np.percentile(g.numpy(), 40)))
    assert (g <= gamma).float().mean().item() == pytest.approx(0.4, abs=1 / len(g) + 1e-9)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert all(p.grad is None for p in net.parameters())


def test_sparse_update_zeroes_entries_at_or_below_gamma_and_returns_fraction():
    net = torch.nn.Linear(2, 2)
    net.weight.grad = torch.tensor([[0.1, -0.6], [0.5, 2.0]])
    net.bias.grad = torch.tensor([-0.5, 0.7])
    frac = sel.sparse_update(net, gamma=0.5)
    assert net.weight.grad.flatten().tolist() == pytest.approx([0.0, -0.6, 0.0, 2.0])
    assert net.bias.grad.tolist() == pytest.approx([0.0, 0.7])
    assert float(frac) == pytest.approx(3 / 6)  # 0.1, 0.5 (equal counts as zeroed), -0.5


def test_stage_gamma_decays_linearly():
    got = [sel.stage_gamma(2.0, s, 5, 0.3) / 2.0 for s in range(5)]
    assert got == pytest.approx([1.00, 0.94, 0.88, 0.82, 0.76])


def test_sel_lr_scales_with_loss():
    assert float(sel.sel_lr(1e-3, torch.tensor(0.5))) == pytest.approx(2e-3)
    assert float(sel.sel_lr(1e-3, torch.tensor(0.0))) == pytest.approx(1e-3)


PAPER = ((0.00, 0.25), (0.20, 0.50), (0.40, 0.65), (0.60, 0.82), (0.78, 1.00))


def test_stage_windows_at_paper_size():
    order = [torch.arange(c * 5000, (c + 1) * 5000) for c in range(10)]
    sizes = [len(sel.stage_indices(order, a, b)) // 10 for a, b in PAPER]
    assert sizes == [1250, 1500, 1250, 1100, 1100]
    s2 = sel.stage_indices(order, 0.20, 0.50)
    assert s2[0].item() == 1000 and s2[1499].item() == 2499 and s2[1500].item() == 5000 + 1000


def test_stage_windows_cap_at_2000_per_class():
    order = [torch.arange(20000)]
    w = sel.stage_indices(order, 0.20, 0.50, cap=2000)  # int(0.2*20000) = 4000, end = min(10000, 6000)
    assert len(w) == 2000 and w[0].item() == 4000 and w[-1].item() == 5999


def test_sort_by_difficulty_orders_each_class_easy_to_hard():
    y = torch.tensor([0, 1, 0, 1, 0])
    scores = torch.tensor([0.9, 0.2, 0.1, 0.8, 0.5])
    order = sel.sort_by_difficulty(scores, y, num_classes=2)
    assert order[0].tolist() == [2, 4, 0] and order[1].tolist() == [1, 3]
    assert sel.easiest_indices(order, 1).tolist() == [2, 1]


def test_difficulty_scores_are_per_sample_cross_entropy():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    x, y = torch.randn(5, 3, 2, 2), torch.tensor([0, 1, 2, 0, 1])
    s = sel.difficulty_scores(net, x, y, batch_size=2)
    ref = torch.nn.functional.cross_entropy(net(x), y, reduction="none")
    assert torch.allclose(s, ref.detach())
