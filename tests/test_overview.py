"""The first page's figure: each experiment's held-out accuracy against executed training FLOPs, per regime, from the
committed runs and the original's CSVs."""
import matplotlib
import pytest

from selcore.paths import original_results_dir
from selcore.report import overview
from tests.conftest import REPO

matplotlib.use("Agg")


def test_the_overview_points_come_from_the_runs_and_the_original():
    p = overview.overview_points(REPO / "results", original_results_dir()).set_index(["experiment", "regime"])
    assert set(p.index.get_level_values("regime")) == {"quick", "wide", "original"}
    assert p.loc[("baseline", "wide"), "executed, % of Baseline"] == pytest.approx(100.0)
    assert p.loc[("sel95", "wide"), "executed, % of Baseline"] == pytest.approx(35.5, abs=0.1)
    assert p.loc[("sel95", "original"), "executed, % of Baseline"] == pytest.approx(42.45, abs=0.01)
    assert p.loc[("sel95", "original"), "held-out %"] == pytest.approx(77.5)
    assert p.loc[("sel95", "wide"), "n"] == 6 and p.loc[("sel95", "original"), "n"] == 1
    assert p.loc[("sel95", "original"), "proxy, % of Baseline"] < 1  # the proxy's 99% saving
    fig = overview.overview_figure(p.reset_index())
    assert len(fig.axes[0].collections) >= 12  # a marker per experiment and regime
