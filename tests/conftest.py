"""Shared fixtures: the real CIFAR-10 images from ../shared/data (skipped where absent, never in CI)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_TAR = REPO.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"


def _need_data():
    if not DATA_TAR.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the real CIFAR-10 images at ../shared/data/{DATA_TAR.name}")
        pytest.skip("the real CIFAR-10 images (../shared/data/cifar10-jpeg.tar.gz) are absent in this checkout")


@pytest.fixture(scope="session")
def data_tar() -> Path:
    _need_data()
    return DATA_TAR


@pytest.fixture(scope="session")
def cifar(data_tar):
    from selcore.engine.data import load_cifar10
    return load_cifar10(str(data_tar))


def tiny(experiment: str, **kw):
    """A seconds-long configuration of ``experiment`` on real images (CPU)."""
    from selcore.config import Config
    base = dict(experiment=experiment, width=8, train_per_class=20, test_per_class=30, held_out_per_class=10,
                num_epochs=2, lth_pretrain_epochs=1, stage_epochs=(1, 1, 1, 1, 1), warmup_epochs=2,
                warmup_per_class=5, batch_size=32, device="cpu", progress="none")
    base.update(kw)
    return Config(**base)


@pytest.fixture(scope="session")
def tiny_results(tmp_path_factory, cifar):
    """All four experiments, run for real at a tiny size into one results folder."""
    from selcore.engine.experiments import run_experiment
    out = tmp_path_factory.mktemp("results")
    for e in ("baseline", "lottery", "sel95", "warmup"):
        run_experiment(tiny(e), out, data=cifar)
    return out
