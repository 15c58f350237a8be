"""The ablations chapter's tables and figures, on synthetic results with the real CSV schema."""
import io
import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from selcore.report import plots_ablations as pa  # noqa: E402
from selcore.config import ABLATIONS, EXPERIMENTS  # noqa: E402
from selcore.engine.data import CLASSES  # noqa: E402
from selcore.engine.difficulty import extremes  # noqa: E402
from selcore.engine.rows import columns  # noqa: E402
from selcore.registry import spec  # noqa: E402

SEEDS = (42, 43, 44)


def history(experiment: str, seed: int, epochs: int = 5) -> pd.DataFrame:
    """A history with exactly the columns our runs write for ``experiment``."""
    rng = np.random.default_rng(seed + len(experiment))
    f = np.arange(1, epochs + 1) / epochs
    v = {"epoch": np.arange(1, epochs + 1), "stage": np.arange(1, epochs + 1),
         "train_acc": 30 + 40 * f, "train_loss": 2 - f, "test_full": 20 + 30 * f + rng.normal(0, 1, epochs),
         "test_100": 21 + 30 * f + rng.normal(0, 1, epochs), "flops_T": 1e-3 * f, "time_s": 10 * f,
         "sparsity": np.full(epochs, 0.5 if "signals" in spec(experiment).columns else 0.0),
         "exec_flops_T": 0.1 * f * (1 + len(experiment) / 10), "samples_seen": (1000 * f).astype(int),
         "exec_eval_flops_T": 0.01 * f, "ideal_flops_T": 0.08 * f, "update_density": np.full(epochs, 0.9)}
    for c in CLASSES:
        v[f"acc_{c}"] = rng.uniform(0, 100, epochs)
        v[f"E_{c}"] = rng.uniform(1, 2, epochs)
        v[f"C_{c}"] = np.maximum(0, 1 - v[f"E_{c}"])
    return pd.DataFrame({c: v[c] for c in columns(experiment)})


@pytest.fixture()
def runs(tmp_path):
    """(system, experiment, seed, folder) for every system and three seeds, CSVs and run.json written."""
    out = []
    for seed in SEEDS:
        main, sgd = tmp_path / f"seed{seed}", tmp_path / "sgd" / f"seed{seed}"
        for folder, names in ((main, EXPERIMENTS + ABLATIONS), (sgd, ("sel95",))):
            folder.mkdir(parents=True, exist_ok=True)
            for e in names:
                history(e, seed).to_csv(folder / f"hist_{e}.csv", index=False)
                (folder / f"run_{e}.json").write_text(json.dumps({"status": "finished",
                                                                   "prior_cost": {"time_s": 2.0}}))
                out.append(("sel95_sgd" if folder == sgd else e, e, seed, folder))
    return out


def png(fig) -> bytes:
    """Render ``fig`` (a drawing error would raise here); the PNG's bytes."""
    assert isinstance(fig, Figure)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def assert_pareto_shows(fig, runs):
    """One dot per run at its CSV's last (exec_flops_T, test_100), one marker per system at the mean of its
    runs, with error bars where it has more than one run."""
    last = {}
    for system, e, seed, folder in runs:
        row = pd.read_csv(folder / f"hist_{e}.csv").iloc[-1]
        last.setdefault(system, []).append((row["exec_flops_T"], row["test_100"]))
    systems = [s for s in pa.SYSTEMS if s in last]
    ax = fig.axes[0]
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    means = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(dots) == len(means) == len(systems)
    for system, d, m in zip(systems, dots, means):
        np.testing.assert_allclose(d.get_offsets(), last[system], rtol=1e-12)
        x, y = m.lines[0].get_data()
        np.testing.assert_allclose([x[0], y[0]], np.mean(last[system], axis=0), rtol=1e-12)
        assert m.get_label() == f"{pa.TITLES[system]} (n={len(last[system])})"
        assert m.has_xerr == m.has_yerr == (len(last[system]) > 1)


def test_last_rows_and_summary(runs, tmp_path):
    rows = pa.last_rows(runs + [("sel95", "sel95", 45, tmp_path / "absent")])
    assert len(rows) == len(runs) and set(rows["system"]) == set(pa.SYSTEMS)
    assert list(rows.columns) == ["system", "seed", *pa.MEASURES]
    assert (rows["time_total_s"] == rows["time_s"] + 2.0).all()
    stats = pa.summary_stats(rows)
    assert list(stats.index) == list(pa.SYSTEMS)
    assert (stats["n"] == 3).all()
    assert (stats["test_100 lo"] <= stats["test_100"]).all() and (stats["test_100"] <= stats["test_100 hi"]).all()
    table = pa.format_summary(stats)
    assert list(table.index) == [pa.TITLES[s] for s in pa.SYSTEMS]
    assert table.iloc[0, 0].count("[") == 1 and table["n"].tolist() == [3] * len(pa.SYSTEMS)
    r = stats.loc["baseline"]  # the text is stats.format_ci of the numbers, with the measure's digits
    assert table.loc[pa.TITLES["baseline"], pa.MEASURES["test_100"]] == \
        f"{r['test_100']:.1f} [{r['test_100 lo']:.1f}, {r['test_100 hi']:.1f}]"
    assert table.loc[pa.TITLES["baseline"], pa.MEASURES["samples_seen"]] == "1,000"  # no spread across seeds: the value alone


def test_one_seed_has_no_interval(runs):
    rows = pa.last_rows([r for r in runs if r[2] == 42])
    stats = pa.summary_stats(rows)
    assert stats["test_100 lo"].isna().all() and (stats["n"] == 1).all()
    assert "[" not in pa.format_summary(stats).iloc[0, 0]
    fig = pa.pareto_executed(rows)
    png(fig)
    assert_pareto_shows(fig, [r for r in runs if r[2] == 42])


def test_figures_draw(runs):
    rows = pa.last_rows(runs)
    hists = {"sel95": [history("sel95", s) for s in SEEDS], "sel95_sgd": [history("sel95", s) for s in SEEDS]}
    rho = pd.DataFrame(np.random.default_rng(0).uniform(-0.2, 0.6, (10, 3)), index=CLASSES,
                       columns=[f"seed{s}" for s in SEEDS])
    n = 60
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8)
    y = torch.arange(n) % 10
    picks = {name: extremes(torch.rand(n), y, CLASSES, k=2) for name in ("scorer", "trained")}
    grid = pa.difficulty_grid(images, picks, CLASSES)
    figs = pa.pareto_executed(rows), pa.density_per_epoch(hists), pa.rank_agreement_bars(rho), grid
    for fig in figs:
        png(fig)
    assert_pareto_shows(figs[0], runs)
    ax = figs[1].axes[0]  # density: the mean over seeds of each history, in %
    for name in hists:
        mean = {col: np.mean([h[col] for h in hists[name]], axis=0) for col in ("sparsity", "update_density")}
        for what, expect in (("gradient kept (1 - sparsity)", 100 * (1 - mean["sparsity"])),
                             ("weights changed", 100 * mean["update_density"])):
            line = next(x for x in ax.get_lines() if x.get_label() == f"{pa.TITLES[name]}: {what} (n=3)")
            np.testing.assert_allclose(line.get_xdata(), hists[name][0]["epoch"])
            np.testing.assert_allclose(line.get_ydata(), expect)
    ax = figs[2].axes[0]  # rank agreement: bar = mean over seeds per class, one dot per seed
    assert [t.get_text() for t in ax.get_xticklabels()] == list(CLASSES)
    np.testing.assert_allclose([b.get_height() for b in ax.patches], rho.mean(axis=1))
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose([d.get_offsets()[:, 1] for d in dots], rho.T.to_numpy())
    assert len(grid.axes) == 10 * 2 * 2 * 2
    for c, cls in enumerate(CLASSES):  # each cell of the grid is the picked training image, as is
        for o, name in enumerate(picks):
            for j, index in enumerate(picks[name][cls]):
                shown = grid.axes[c * 8 + o * 4 + j].images[0].get_array()
                assert np.array_equal(shown, images[index].permute(1, 2, 0).numpy()), (cls, name, j)
    assert plt.get_fignums() == [], "figures must not stay open in pyplot"


def test_empty_inputs_say_so():
    empty = pa.last_rows([])
    for fig in (pa.pareto_executed(empty), pa.density_per_epoch({"sel95": []}),
                pa.rank_agreement_bars(pd.DataFrame()), pa.difficulty_grid(torch.zeros(0, 3, 32, 32), {}, CLASSES)):
        png(fig)
        assert len(fig.axes) == 1 and not fig.axes[0].has_data()  # nothing drawn but the note
        assert any(t.get_text() for t in fig.axes[0].texts)
