"""Shared fixtures: the real CIFAR-10 images from ../shared/data (skipped where absent, never in CI)."""
from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_TAR = REPO.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"


@contextmanager
def global_state_kept():
    """Put back, on exit (error or not), the process-wide state that tests or the runs they start may change:
    torch's thread count, determinism switches (``selcore.engine.train.set_determinism`` sets them for each
    run), default dtype and global RNG, the environment variables, the working directory and matplotlib's
    rcParams."""
    import torch
    cudnn = torch.backends.cudnn
    saved = dict(threads=torch.get_num_threads(), det=torch.are_deterministic_algorithms_enabled(),
                 warn_only=torch.is_deterministic_algorithms_warn_only_enabled(), cudnn_det=cudnn.deterministic,
                 cudnn_bench=cudnn.benchmark, dtype=torch.get_default_dtype(), rng=torch.random.get_rng_state(),
                 environ=dict(os.environ), cwd=os.getcwd())
    mpl = sys.modules.get("matplotlib")
    rc = {k: v for k, v in mpl.rcParams.copy().items() if k != "backend"} if mpl else None
    try:
        yield
    finally:
        if torch.get_num_threads() != saved["threads"]:
            torch.set_num_threads(saved["threads"])
        torch.use_deterministic_algorithms(saved["det"], warn_only=saved["warn_only"])
        cudnn.deterministic, cudnn.benchmark = saved["cudnn_det"], saved["cudnn_bench"]
        torch.set_default_dtype(saved["dtype"])
        torch.random.set_rng_state(saved["rng"])
        if dict(os.environ) != saved["environ"]:
            os.environ.clear()
            os.environ.update(saved["environ"])
        if os.getcwd() != saved["cwd"]:
            os.chdir(saved["cwd"])
        if rc is not None:
            dict.update(mpl.rcParams, rc)


@pytest.fixture(autouse=True)
def _keep_global_state():
    """Every test leaves the process as it found it (see ``global_state_kept``)."""
    with global_state_kept():
        yield


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
    with global_state_kept():
        for e in ("baseline", "lottery", "sel95", "warmup"):
            run_experiment(tiny(e), out, data=cifar)
    return out


@pytest.fixture(scope="session")
def documented_run(tmp_path_factory, data_tar):
    """The README's and the reproducing page's commands, run once in a copy of the repository
    (``tests/documented.py``): checked by test_documented_commands.py; their smoke book is test_book.py's."""
    from documented import run_documented
    with global_state_kept():
        return run_documented(tmp_path_factory.mktemp("documented") / "repo", data_tar)


@pytest.fixture(scope="session")
def browser_ready():
    """Skip (with the reason) where no Chromium/playwright is available, unless SELCORE_REQUIRE_BROWSER=1 (CI,
    after ``.ci/install-browser``) turns the absence into a failure."""
    from browser_util import browser_missing_reason
    reason = browser_missing_reason()
    if reason:
        if os.environ.get("SELCORE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SELCORE_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)


def default_sigint() -> None:
    """``preexec_fn`` of a test's child process that will receive SIGINT: restore its default disposition. A suite
    started as a background job of a non-interactive shell inherits SIGINT ignored, and a Python started with SIGINT
    ignored installs no KeyboardInterrupt handler, so a Ctrl-C test would otherwise depend on how pytest was started."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
