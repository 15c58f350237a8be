"""Every figure of selcore.plots is drawn for our CSV format, the original release's, and partial folders."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from selcore import plots  # noqa: E402
from selcore.config import EXPERIMENT_TITLES, EXPERIMENTS  # noqa: E402
from selcore.data import CLASSES  # noqa: E402
from selcore.results import columns  # noqa: E402
from selcore.summary import load_results  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"
EPOCHS = {"baseline": 3, "lottery": 3, "sel95": 5, "warmup": 6}


def synthetic_history(name: str, original_format: bool = False) -> pd.DataFrame:
    """A small history with exactly our CSV schema (or the original's: no exec_flops_T/samples_seen)."""
    n = EPOCHS[name]
    rng = np.random.default_rng(len(name))
    f = np.arange(1, n + 1) / n
    sel = name in ("sel95", "warmup")
    per_epoch = {"baseline": 1.0, "lottery": 1.0, "sel95": 0.3, "warmup": 0.35}[name]
    values = {
        "epoch": np.arange(1, n + 1),
        "stage": np.arange(n) + (1 if name == "sel95" else 0),
        "train_acc": 30 + 50 * f, "train_loss": 2 - f, "test_full": 25 + 40 * f, "test_100": 26 + 40 * f,
        "sparsity": np.full(n, {"baseline": 0.0, "lottery": 0.8}.get(name, 0.9)),
        "time_s": 10 * per_epoch * np.arange(1, n + 1),
        "samples_seen": (1000 * per_epoch * np.arange(1, n + 1)).astype(int),
    }
    values["flops_T"] = 1e-3 * per_epoch * np.arange(1, n + 1) * (1 - values["sparsity"])
    values["exec_flops_T"] = 0.05 * per_epoch * np.arange(1, n + 1) + (0.05 if name == "lottery" else 0.0)
    for c in CLASSES:
        values[f"acc_{c}"] = rng.uniform(0, 100, n)
        if sel:
            values[f"E_{c}"] = rng.uniform(1, 2.5, n)
            values[f"C_{c}"] = np.maximum(0, 1 - values[f"E_{c}"])
    cols = [c for c in columns(name) if not (original_format and c in ("exec_flops_T", "samples_seen"))]
    return pd.DataFrame({c: values[c] for c in cols})


def write_folder(folder, names=EXPERIMENTS, original_format=False):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        synthetic_history(name, original_format).to_csv(folder / f"hist_{name}.csv", index=False)
    return folder


def assert_all_written(paths, out):
    assert paths == [out / f"{name}.png" for name in plots.FIGURES]
    for p in paths:
        assert p.read_bytes()[:8] == PNG, p
    assert plt.get_fignums() == [], "figures must not stay open in pyplot"


def test_schema_of_the_synthetic_folder_is_the_real_one(tmp_path):
    results = load_results(write_folder(tmp_path / "r"))
    for name, df in results.items():
        assert list(df.columns) == columns(name)


@pytest.mark.parametrize("original_format", [False, True], ids=["ours", "original-release-format"])
def test_save_all_writes_every_figure(tmp_path, original_format):
    results = load_results(write_folder(tmp_path / "r", original_format=original_format))
    assert ("exec_flops_T" in results["baseline"]) is not original_format
    out = tmp_path / "figures"
    assert_all_written(plots.save_all(results, out), out)


@pytest.mark.parametrize("names", [("baseline",), ("sel95",), ("lottery", "warmup")])
def test_missing_experiments_are_skipped(tmp_path, names):
    results = load_results(write_folder(tmp_path / "r", names))
    out = tmp_path / "figures"
    assert_all_written(plots.save_all(results, out), out)


def test_one_colour_per_system(tmp_path):
    results = load_results(write_folder(tmp_path / "r"))
    for make in (plots.accuracy_full, plots.flops_proxy_vs_executed):
        for line in make(results).axes[0].get_lines():
            system = next(e for e in EXPERIMENTS if line.get_label().startswith(EXPERIMENT_TITLES[e]))
            assert matplotlib.colors.same_color(line.get_color(), plots.COLORS[system])


def test_executed_panel_says_why_it_is_empty_for_the_original_format(tmp_path):
    results = load_results(write_folder(tmp_path / "r", original_format=True))
    ax = plots.accuracy_vs_executed_flops(results).axes[0]
    assert not ax.get_lines()
    assert any("exec_flops_T" in t.get_text() for t in ax.texts)


def test_comparison_table_counts_executed_savings(tmp_path):
    table = plots.comparison_table(load_results(write_folder(tmp_path / "r")))
    assert table.loc["baseline", "exec FLOPs saved %"] == pytest.approx(0.0)
    # the synthetic lottery ran the baseline's epochs plus a pretraining cost: it saves less than nothing
    assert table.loc["lottery", "exec FLOPs saved %"] < 0 < table.loc["lottery", "FLOPs saved %"]


def test_pareto_front():
    x = pd.Series([0.0, 80.0, 99.0, 50.0], index=list("abcd"))
    y = pd.Series([93.0, 93.0, 77.0, 80.0], index=list("abcd"))
    assert plots.pareto_front(x, y) == ["b", "c"]


def test_every_figure_on_a_real_short_run(tiny_results, tmp_path):
    out = tmp_path / "figures"
    assert_all_written(plots.save_all(load_results(tiny_results), out), out)
