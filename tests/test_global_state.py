"""conftest's ``global_state_kept`` (which every test runs inside) puts the process-wide state back, error or not."""
import os

import matplotlib
import pytest
import torch

from selcore.engine.train import set_determinism
from tests.conftest import global_state_kept


def _state():
    cudnn = torch.backends.cudnn
    return (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(), cudnn.deterministic,
            cudnn.benchmark, torch.get_default_dtype(), torch.random.get_rng_state().tolist(),
            os.environ.get("CUBLAS_WORKSPACE_CONFIG"), os.environ.get("SELCORE_TEST_VAR"), os.getcwd(),
            matplotlib.rcParams["lines.linewidth"])


def test_global_state_is_put_back_after_an_error(tmp_path):
    before = _state()
    assert before[7] is None and before[9] != 7.0
    with pytest.raises(RuntimeError, match="boom"):
        with global_state_kept():
            set_determinism(True)  # what a run with deterministic=True does
            torch.set_num_threads(1 if before[0] != 1 else 2)
            torch.set_default_dtype(torch.float64)
            torch.manual_seed(12345)
            os.environ["SELCORE_TEST_VAR"] = "1"
            os.chdir(tmp_path)
            matplotlib.rcParams["lines.linewidth"] = 7.0
            changed = _state()
            raise RuntimeError("boom")
    # threads, both determinism switches, dtype, RNG, the variable, cwd and rcParams had really changed
    assert {0, 1, 2, 4, 5, 7, 8, 9} <= {i for i, (a, b) in enumerate(zip(changed, before)) if a != b}
    assert _state() == before
