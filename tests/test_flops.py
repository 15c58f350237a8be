"""Compute accounting: the original's proxy and executed FLOPs on known models."""
import pytest
import torch

from selcore.engine.flops import PER_IMAGE, ExecutedFlops, measure_flops, proxy_flops
from selcore.engine.models import build_model


def test_proxy_is_two_params_samples_density():
    assert proxy_flops(1000, 50, 0.0) == 2 * 1000 * 50
    assert proxy_flops(1000, 50, 0.95) == pytest.approx(2 * 1000 * 50 * 0.05)
    # the original's Baseline figure: 30 epochs x 50,000 images x 11,173,962 params -> 33.52 T
    assert proxy_flops(11_173_962, 30 * 50_000) / 1e12 == pytest.approx(33.52, abs=0.005)


def test_executed_flops_of_a_linear_layer():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3072, 10))
    f = ExecutedFlops(net)
    assert f.forward(4) == 2 * 4 * 3072 * 10
    # backward: the weight gradient only (the input needs no gradient) = forward again
    assert f.train(4) == 2 * f.forward(4)
    assert f.train_epoch(10, 4) == 2 * f.train(4) + f.train(2)


def test_executed_flops_of_resnet18_and_that_training_weights_are_untouched():
    net = build_model(64)
    before = net.conv1.weight.clone()
    f = ExecutedFlops(net)
    fwd = f.forward(2) / 2
    assert 1.10e9 < fwd < 1.12e9  # CIFAR ResNet-18: 0.56 GMACs per 32x32 image
    assert f.train(2) / f.forward(2) == pytest.approx(3.0, abs=0.01)  # backward ~ 2x forward
    assert torch.equal(net.conv1.weight, before) and net.conv1.weight.grad is None
    # the proxy is two orders of magnitude below what runs
    assert f.train(1) / proxy_flops(11_173_962, 1) > 100


def test_a_batch_costs_its_size_times_one_images_count_measured_once_per_architecture():
    """Every counted product is linear in the batch: the per-image count times b equals a direct count of a batch of
    b, for the batch sizes the runs use and their remainders; a second model of the same architecture and width
    reuses the count, another width measures its own."""
    PER_IMAGE.clear()
    net = build_model(8)
    f = ExecutedFlops(net)
    for b in (2, 7, 32, 64, 200):  # training mode needs two images per batch-norm channel
        assert f.train(b) == measure_flops(net, "train", b)
    for b in (1, 7, 64, 200):
        assert f.forward(b) == measure_flops(net, "forward", b)
    assert len(PER_IMAGE) == 2
    ExecutedFlops(build_model(8)).train(64)  # same architecture: no new measurement
    assert len(PER_IMAGE) == 2
    assert ExecutedFlops(build_model(16)).train(64) > f.train(64) and len(PER_IMAGE) == 3


def test_a_pruned_network_skips_all_three_products_of_its_pruned_weights():
    from selcore.engine.flops import ideal_pruned_flops, ideal_sparse_flops
    train, forward = 3.1e9, 1.0e9  # a step: forward + input gradient + weight gradient (+ a little else)
    assert ideal_sparse_flops(train, forward, 0.8) == pytest.approx(train - 0.8e9)  # a masked gradient: wgrad only
    assert ideal_pruned_flops(train, forward, 0.8) == pytest.approx(train - 0.8 * 3.0e9)
    assert ideal_pruned_flops(train, forward, 0.0) == train and ideal_pruned_flops(train, 2e9, 1.0) == 0.0
