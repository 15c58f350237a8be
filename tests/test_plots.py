"""Every figure of selcore.report.plots is drawn for our CSV format, the original release's, partial folders,
and several seeds at once (a list of results dicts)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from selcore.report import figdata, plots, plots_compute  # noqa: E402
from selcore.config import EXPERIMENT_TITLES, EXPERIMENTS  # noqa: E402
from selcore.engine.data import CLASSES  # noqa: E402
from selcore.engine.rows import columns  # noqa: E402
from selcore.report.summary import load_results  # noqa: E402
from PIL import Image  # noqa: E402

from figure_data import assert_figure_shows, csv_seeds  # noqa: E402

EPOCHS = {"baseline": 3, "lottery": 3, "sel95": 5, "warmup": 6}


NEW_COLUMNS = ("exec_flops_T", "samples_seen", "exec_eval_flops_T", "ideal_flops_T", "update_density")
"""Our columns that the original release's CSVs do not have."""


def synthetic_history(name: str, original_format: bool = False, seed: int = 0) -> pd.DataFrame:
    """A small history with exactly our CSV schema (or the original's: none of NEW_COLUMNS); ``seed``
    shifts the accuracies a little, as another seed would."""
    n = EPOCHS[name]
    rng = np.random.default_rng(len(name) + 100 * seed)
    f = np.arange(1, n + 1) / n + 0.02 * seed
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
    values["exec_eval_flops_T"] = 0.01 * np.arange(1, n + 1)
    values["ideal_flops_T"] = values["exec_flops_T"] - values["sparsity"] * values["exec_flops_T"] / 3
    values["update_density"] = np.full(n, 0.97 if name != "lottery" else 0.2)
    for c in CLASSES:
        values[f"acc_{c}"] = rng.uniform(0, 100, n)
        if sel:
            values[f"E_{c}"] = rng.uniform(1, 2.5, n)
            values[f"C_{c}"] = np.maximum(0, 1 - values[f"E_{c}"])
    cols = [c for c in columns(name) if not (original_format and c in NEW_COLUMNS)]
    return pd.DataFrame({c: values[c] for c in cols})


def write_folder(folder, names=EXPERIMENTS, original_format=False, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        synthetic_history(name, original_format, seed).to_csv(folder / f"hist_{name}.csv", index=False)
    return folder


def seed_folders(tmp_path, seeds=(42, 43, 44)):
    """The folders ``seed_results`` writes."""
    return [tmp_path / "smoke" / f"seed{s}" for s in seeds]


def seed_results(tmp_path, seeds=(42, 43, 44), **kw):
    """One results dict per seed, from ``<tmp>/smoke/seed<k>`` folders."""
    return [load_results(write_folder(tmp_path / "smoke" / f"seed{s}", seed=i, **kw)) for i, s in enumerate(seeds)]


def assert_save_all(results, out, folders):
    """``save_all(results, out)`` writes every figure at ``plots.DPI``, and each figure it draws shows the
    values of the CSVs in ``folders`` (from which ``results`` was loaded)."""
    drawn = {}
    with pytest.MonkeyPatch.context() as mp:  # keep each figure save_all draws
        for name, make in plots.FIGURES.items():
            mp.setitem(plots.FIGURES, name, lambda r, name=name, make=make: drawn.setdefault(name, make(r)))
        paths = plots.save_all(results, out)
    assert paths == [out / f"{name}.png" for name in plots.FIGURES] and list(drawn) == list(plots.FIGURES)
    seeds = csv_seeds(folders)
    for (name, fig), p in zip(drawn.items(), paths):
        assert_figure_shows(name, fig, seeds)
        with Image.open(p) as png:
            assert png.size == tuple(round(v * plots.DPI) for v in fig.get_size_inches()), p
    assert plt.get_fignums() == [], "figures must not stay open in pyplot"


def test_schema_of_the_synthetic_folder_is_the_real_one(tmp_path):
    results = load_results(write_folder(tmp_path / "r"))
    for name, df in results.items():
        assert list(df.columns) == columns(name)


@pytest.mark.parametrize("original_format", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["ours", "original-release-format"])
def test_save_all_writes_every_figure(tmp_path, original_format):
    results = load_results(write_folder(tmp_path / "r", original_format=original_format))
    assert ("exec_flops_T" in results["baseline"]) is not original_format
    out = tmp_path / "figures"
    assert_save_all(results, out, [tmp_path / "r"])


@pytest.mark.slow  # 18 PNG files per case
@pytest.mark.parametrize("names", [("baseline",), ("sel95",), ("lottery", "warmup")])
def test_missing_experiments_are_skipped(tmp_path, names):
    results = load_results(write_folder(tmp_path / "r", names))
    out = tmp_path / "figures"
    assert_save_all(results, out, [tmp_path / "r"])


def test_one_colour_per_system(tmp_path):
    results = load_results(write_folder(tmp_path / "r"))
    for make in (plots.accuracy_full, plots.flops_proxy_vs_executed):
        for line in make(results).axes[0].get_lines():
            system = next(e for e in EXPERIMENTS if line.get_label().startswith(EXPERIMENT_TITLES[e]))
            assert matplotlib.colors.same_color(line.get_color(), figdata.COLORS[system])


def test_executed_panel_says_why_it_is_empty_for_the_original_format(tmp_path):
    results = load_results(write_folder(tmp_path / "r", original_format=True))
    ax = plots.accuracy_vs_executed_flops(results).axes[0]
    assert not ax.get_lines()
    assert any("exec_flops_T" in t.get_text() for t in ax.texts)


def test_comparison_table_counts_executed_savings(tmp_path):
    table = figdata.comparison_table(load_results(write_folder(tmp_path / "r")))
    assert table.loc["baseline", "exec FLOPs saved %"] == pytest.approx(0.0)
    # the synthetic lottery ran the baseline's epochs plus a pretraining cost: it saves less than nothing
    assert table.loc["lottery", "exec FLOPs saved %"] < 0 < table.loc["lottery", "FLOPs saved %"]


def test_pareto_front():
    x = pd.Series([0.0, 80.0, 99.0, 50.0], index=list("abcd"))
    y = pd.Series([93.0, 93.0, 77.0, 80.0], index=list("abcd"))
    assert figdata.pareto_front(x, y) == ["b", "c"]
    # fewer is better (executed FLOPs, as in the ablations chapter): pass the negation; sorted by -x
    flops = pd.Series([8.4, 3.0, 2.6, 2.6, 12.6], index=list("abcde"))
    acc = pd.Series([53.1, 30.0, 37.8, 39.6, 53.4], index=list("abcde"))
    assert figdata.pareto_front(-flops, acc) == ["e", "a", "d"]  # b and c cost more than d for less accuracy


@pytest.mark.slow
def test_every_figure_on_a_real_short_run(tiny_results, tmp_path):
    out = tmp_path / "figures"
    results = load_results(tiny_results)
    assert_save_all(results, out, [tiny_results])


@pytest.mark.slow
@pytest.mark.parametrize("original_format", [False, True], ids=["ours", "original-release-format"])
def test_save_all_over_seeds(tmp_path, original_format):
    seeds = seed_results(tmp_path, original_format=original_format)
    out = tmp_path / "figures"
    assert_save_all(seeds, out, seed_folders(tmp_path))


def test_every_figure_takes_a_dict_or_a_list(tmp_path):
    seeds = seed_results(tmp_path)
    folders = seed_folders(tmp_path)
    for name, make in plots.FIGURES.items():
        for results, used in ((seeds[0], folders[:1]), (seeds[:1], folders[:1]), (seeds, folders)):
            assert_figure_shows(name, make(results), csv_seeds(used))


def test_seed_spread_is_shaded_and_the_mean_drawn(tmp_path):
    seeds = seed_results(tmp_path)
    ax = plots.accuracy_held_out(seeds).axes[0]
    baseline = next(line for line in ax.get_lines() if line.get_label().startswith("Baseline"))
    assert "(n=3)" in baseline.get_label()
    expected = np.mean([s["baseline"]["test_100"].to_numpy() for s in seeds], axis=0)
    assert np.allclose(baseline.get_ydata(), expected)
    assert ax.collections, "the min-max band over seeds is drawn"
    single = plots.accuracy_held_out(seeds[0]).axes[0]
    assert not single.collections and "(n=" not in single.get_lines()[0].get_label()


def test_comparison_table_over_seeds_is_the_mean(tmp_path):
    seeds = seed_results(tmp_path)
    table = figdata.comparison_table(seeds)
    per_seed = figdata.comparison_tables(seeds)
    assert len(per_seed) == 3 and (table["n"] == 3).all()
    expected = np.mean([t.loc["sel95", "100/class"] for t in per_seed])
    assert table.loc["sel95", "100/class"] == pytest.approx(expected)
    assert table.loc["sel95", "ideal FLOPs T"] < table.loc["sel95", "exec FLOPs T"]


def test_compute_views_shows_three_views(tmp_path):
    ax = plots.compute_views(seed_results(tmp_path)).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == list(plots_compute.COMPUTE_VIEWS.values())
    ax = plots.compute_views(load_results(write_folder(tmp_path / "orig", original_format=True))).axes[0]
    assert any("no exec_flops_T" in t.get_text() for t in ax.texts)


def test_empty_list_is_refused():
    with pytest.raises(ValueError):
        plots.accuracy_full([])
