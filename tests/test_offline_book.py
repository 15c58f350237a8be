"""The built HTML book works offline: math, interactive figures and the results downloads.

* Fast: the three interactive figures of ``selcore.report.interactive`` hold the numbers of the committed
  quick-profile CSVs (recomputed here straight from the files), and the publishing rule and ``csv_link`` of
  the book's Sphinx extension.
* Slow: a small Jupyter Book built with the repository's own ``_config.yml`` (a Markdown page with display and
  inline math, a pre-executed notebook showing two interactive figures of the committed results and a CSV
  link) is opened from disk in headless Chromium with every non-file:// request aborted: MathJax typesets the
  formulas, plotly draws every point, plotly.min.js is read once, from disk, and the CSV link resolves.
  Skipped without Chromium/playwright unless ``SELCORE_REQUIRE_BROWSER=1`` (see ``test_browser.py``).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pytest
from browser_util import open_offline

from selcore.book import sphinx_ext
from selcore.book.page import csv_link
from selcore.config import EXPERIMENT_TITLES, EXPERIMENTS
from selcore.profiles import PROFILE_SEEDS
from selcore.report import interactive
from selcore.report.stats import seed_folders
from selcore.report.summary import load_results

REPO = Path(__file__).resolve().parents[1]
QUICK = REPO / "results" / "quick"
FOLDERS = seed_folders(QUICK, PROFILE_SEEDS["quick"])
"""The seed folders the analysis chapter reads: the quick profile's seeds, not those a seed plan added for a few
ledger rows."""
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _csvs(name: str) -> list[pd.DataFrame]:
    """The committed quick-profile history of ``name``, one DataFrame per seed, read straight from the CSVs."""
    return [pd.read_csv(folder / f"hist_{name}.csv") for folder in FOLDERS]


def _over_seeds(name: str, column: str) -> pd.DataFrame:
    """Per epoch: mean, min and max of ``column`` over the seeds' CSVs."""
    cat = pd.concat(_csvs(name))
    return cat.groupby("epoch")[column].agg(["mean", "min", "max"])


@pytest.fixture(scope="module")
def per_seed():
    assert len(FOLDERS) == 3, f"the committed quick results should hold 3 seeds, found {FOLDERS}"
    return [load_results(f) for f in FOLDERS]


def _traces(fig, name):
    return [t for t in fig.data if t.legendgroup == name]


# ----------------------------------------------------------------------------- the interactive figures
def test_accuracy_curves_hold_mean_and_band_of_the_csvs(per_seed):
    fig = interactive.accuracy_held_out(per_seed).figure
    assert len(fig.data) == 3 * len(EXPERIMENTS)          # per system: band max, band min, mean
    for e in EXPERIMENTS:
        upper, lower, mean = _traces(fig, e)
        expected = _over_seeds(e, "test_100")
        np.testing.assert_array_equal(mean.x, expected.index.to_numpy())
        np.testing.assert_allclose(mean.y, expected["mean"], rtol=1e-12)
        np.testing.assert_allclose(upper.y, expected["max"], rtol=1e-12)
        np.testing.assert_allclose(lower.y, expected["min"], rtol=1e-12)
        assert lower.fill == "tonexty" and not upper.showlegend and not lower.showlegend
        assert mean.name == EXPERIMENT_TITLES[e] and mean.mode == "lines+markers"
        np.testing.assert_allclose(mean.customdata[:, 2], 3)  # n in the hover
    assert "mean of 3 seeds" in fig.layout.title.text


def test_accuracy_curves_of_one_seed_are_its_csv(per_seed):
    fig = interactive.accuracy_held_out(per_seed[0]).figure
    assert [t.name for t in fig.data] == [EXPERIMENT_TITLES[e] for e in EXPERIMENTS]  # no bands for n = 1
    np.testing.assert_allclose(fig.data[2].y, _csvs("sel95")[0]["test_100"], rtol=1e-12)
    assert "seeds" not in fig.layout.title.text


def test_pareto_points_are_last_epoch_means_and_ranges(per_seed):
    fig = interactive.pareto_executed(per_seed).figure
    points = {t.name: t for t in fig.data if t.mode == "markers"}
    assert list(points) == [EXPERIMENT_TITLES[e] for e in EXPERIMENTS]
    for e in EXPERIMENTS:
        last = pd.DataFrame([df.iloc[-1] for df in _csvs(e)])
        p = points[EXPERIMENT_TITLES[e]]
        x, y = last["exec_flops_T"], last["test_100"]
        np.testing.assert_allclose([p.x[0], p.y[0]], [x.mean(), y.mean()], rtol=1e-12)
        np.testing.assert_allclose([p.error_x.arrayminus[0], p.error_x.array[0]], [x.mean() - x.min(), x.max() - x.mean()],
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose([p.error_y.arrayminus[0], p.error_y.array[0]], [y.mean() - y.min(), y.max() - y.mean()],
                                   rtol=1e-9, atol=1e-12)
    # SEL-95 executed fewer training FLOPs than the Baseline in every seed (README: 64.5% fewer on average)
    assert points["SEL-95%"].x[0] < 0.5 * points["Baseline CNN"].x[0]
    front = next(t for t in fig.data if t.name == "Pareto front")
    on_front = set(zip(front.x, front.y))
    for p in points.values():
        dominated = any(q.x[0] <= p.x[0] and q.y[0] >= p.y[0] and (q.x[0], q.y[0]) != (p.x[0], p.y[0])
                        for q in points.values())
        assert ((p.x[0], p.y[0]) in on_front) == (not dominated), p.name
    assert fig.layout.xaxis.type == "log"


def test_class_signals_hold_each_class_in_both_panels(per_seed):
    fig = interactive.class_signals(per_seed).figure
    assert len(fig.data) == 2 * len(CLASSES)
    e_traces = {t.name: t for t in fig.data if t.xaxis == "x"}
    c_traces = {t.name: t for t in fig.data if t.xaxis == "x2"}
    assert list(e_traces) == list(c_traces) == list(CLASSES)
    for cls in CLASSES:
        np.testing.assert_allclose(e_traces[cls].y, _over_seeds("sel95", f"E_{cls}")["mean"], rtol=1e-12)
        np.testing.assert_allclose(c_traces[cls].y, _over_seeds("sel95", f"C_{cls}")["mean"], rtol=1e-12)
        assert e_traces[cls].line.color == c_traces[cls].line.color and e_traces[cls].showlegend
        assert not c_traces[cls].showlegend                  # one legend entry toggles both panels
    sel = _csvs("sel95")[0]
    changes = sel.loc[sel["stage"].diff().fillna(0) != 0, "epoch"] - 0.5
    assert len(changes) == 4                                 # five stages
    assert sorted({s.x0 for s in fig.layout.shapes}) == sorted(changes)
    assert len(fig.layout.shapes) == 2 * len(changes)        # a dotted line in each panel


def test_class_signals_without_sel_run_says_so(per_seed):
    fig = interactive.class_signals([{"baseline": r["baseline"]} for r in per_seed]).figure
    assert not fig.data and any(a.text == "no data" for a in fig.layout.annotations)


def test_html_div_without_plotly_js(per_seed):
    shown = interactive.accuracy_held_out(per_seed)
    first, second = shown._repr_html_(), shown._repr_html_()
    assert 'class="plotly-graph-div"' in first and "Plotly.newPlot" in first
    assert "<script src" not in first and "cdn" not in first.lower()       # plotly.js comes from the book
    assert first != second and first.split('id="')[1][:14] != second.split('id="')[1][:14]
    assert repr(shown).startswith("Interactive('Test accuracy, held-out 100/class")


# ----------------------------------------------------------------------------- publishing and csv_link
def test_publish_results_copies_only_csvs_and_run_json(tmp_path):
    root = tmp_path / "results"
    (root / "quick" / "seed42" / "checkpoints").mkdir(parents=True)
    (root / "quick" / "figures").mkdir()
    wanted = {"quick/seed42/hist_sel95.csv": "epoch\n1\n", "quick/seed42/run_sel95.json": "{}"}
    unwanted = {"quick/seed42/checkpoints/sel95.pt": "x", "quick/figures/pareto.png": "x",
                "quick/seed42/notes.json": "{}", "quick/seed42/hist_sel95.csv.tmp": "x"}
    for rel, text in {**wanted, **unwanted}.items():
        (root / rel).write_text(text)
    copies = sphinx_ext.publish_results(root, tmp_path / "html")
    published = tmp_path / "html" / sphinx_ext.PUBLISHED_DIR
    assert sorted(p.relative_to(published).as_posix() for p in copies) == sorted(wanted)
    assert {p.relative_to(published).as_posix() for p in published.rglob("*") if p.is_file()} == set(wanted)
    assert (published / "quick/seed42/hist_sel95.csv").read_text() == "epoch\n1\n"


def test_csv_link_points_into_the_published_folder(monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("SELCORE_RESULTS", raising=False)
    link = csv_link("results/quick/seed42/hist_sel95.csv").data
    assert 'href="results/quick/seed42/hist_sel95.csv"' in link and ">quick/seed42/hist_sel95.csv</a>" in link
    assert 'href="results/quick/seed43/run_lottery.json"' in csv_link(QUICK / "seed43" / "run_lottery.json").data


def test_csv_link_refuses_what_is_not_published(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("SELCORE_RESULTS", raising=False)
    with pytest.raises(FileNotFoundError):
        csv_link("results/quick/seed42/hist_nothing.csv")
    with pytest.raises(ValueError, match="publishes only"):
        csv_link("README.md")
    outside = tmp_path / "hist_x.csv"
    outside.write_text("epoch\n")
    with pytest.raises(ValueError):
        csv_link(outside)
    monkeypatch.setenv("SELCORE_RESULTS", str(tmp_path))
    assert 'href="results/hist_x.csv"' in csv_link(outside).data


# ----------------------------------------------------------------------------- the offline HTML book
MATH_PAGE = textwrap.dedent(r"""
    # Offline math

    The embarrassment of class $c$ is $E_c = \frac{1}{|S_c|}\sum_{i \in S_c} \ell_i / T$, and

    $$
    C_c = \max\left(0,\; 1 - E_c\right).
    $$
    """)


def _figure_notebook(per_seed):
    """A notebook whose cells' outputs are what the kernel would show: two interactive figures and a link."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    def shown(source, obj, count):
        cell = new_code_cell(source, execution_count=count)
        cell.outputs = [new_output("execute_result", execution_count=count,
                                   data={"text/html": obj._repr_html_(),
                                         "text/plain": repr(obj)})]
        return cell

    cells = [new_markdown_cell("# Interactive figures"),
             shown("interactive.accuracy_held_out(per_seed)", interactive.accuracy_held_out(per_seed), 1),
             shown("interactive.pareto_executed(per_seed)", interactive.pareto_executed(per_seed), 2),
             shown('csv_link("results/quick/seed42/hist_baseline.csv")',
                   csv_link("results/quick/seed42/hist_baseline.csv"), 3)]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


@pytest.fixture(scope="module")
def offline_book(tmp_path_factory, browser_ready, per_seed) -> Path:
    """The small book, built with the repository's _config.yml from the repository root; its HTML folder."""
    import nbformat
    root = tmp_path_factory.mktemp("offline-book")
    shutil.copy(REPO / "_config.yml", root / "_config.yml")
    shutil.copy(REPO / "book" / "references.bib", root / "references.bib")   # the config's bibtex file
    if (REPO / "book" / "_static").is_dir():                                   # the config's static files
        shutil.copytree(REPO / "book" / "_static", root / "_static")
    (root / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: figures\n")
    (root / "index.md").write_text(MATH_PAGE)
    env = {k: v for k, v in os.environ.items() if k != "SELCORE_RESULTS"}
    cwd = os.getcwd()
    os.chdir(REPO)                                  # csv_link resolves results/ as a chapter does
    try:
        nbformat.write(_figure_notebook(per_seed), root / "figures.ipynb")
    finally:
        os.chdir(cwd)
    proc = subprocess.run([sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
                           "build", str(root), "-W", "--keep-going"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"jupyter-book build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return root / "_build" / "html"


def _plotly_js_requests(requested: list[str]) -> list[str]:
    return [u for u in requested if urlparse(u).path.endswith("/_static/" + sphinx_ext.PLOTLY_JS)]


@pytest.mark.slow
def test_math_renders_offline(offline_book):
    seen = open_offline(offline_book / "index.html", "mjx-container", count=3)
    assert seen["aborted"] == [] and all(u.startswith("file://") for u in seen["requested"]), seen["requested"]
    assert sorted(seen["math"]) == ["", "", "true"]               # two inline formulas, one display
    assert "$" not in seen["text"] and "\\frac" not in seen["text"] and "\\max" not in seen["text"]
    assert any("/_static/mathjax/" in u for u in seen["requested"])
    assert _plotly_js_requests(seen["requested"]) == []          # a page without a figure does not load plotly


@pytest.mark.slow
def test_interactive_figures_render_offline(offline_book, per_seed):
    seen = open_offline(offline_book / "figures.html", ".js-plotly-plot .scatterlayer", count=2)
    assert seen["aborted"] == [] and all(u.startswith("file://") for u in seen["requested"]), seen["requested"]
    js = _plotly_js_requests(seen["requested"])
    assert len(js) == 1, js                                      # once for the page's two figures
    assert Path(unquote(urlparse(js[0]).path)) == offline_book / "_static" / sphinx_ext.PLOTLY_JS
    accuracy, pareto = seen["plots"]
    epochs = sum(len(per_seed[0][e]) for e in EXPERIMENTS)   # every seed logs the same epochs
    assert accuracy["svg"] >= 1 and accuracy["points"] == epochs == sum(len(_csvs(e)[0]) for e in EXPERIMENTS)
    assert accuracy["legend"] == [EXPERIMENT_TITLES[e] for e in EXPERIMENTS]
    assert pareto["points"] == len(EXPERIMENTS) and "Pareto front" in pareto["legend"]


@pytest.mark.slow
def test_csv_link_and_results_are_in_the_build(offline_book):
    seen = open_offline(offline_book / "figures.html", ".js-plotly-plot")
    assert len(seen["links"]) == 1 and seen["links"][0].startswith("file://")
    target = Path(unquote(urlparse(seen["links"][0]).path))
    assert target == offline_book / "results" / "quick" / "seed42" / "hist_baseline.csv"
    assert target.read_bytes() == (QUICK / "seed42" / "hist_baseline.csv").read_bytes()
    published = {p.relative_to(offline_book / "results") for p in (offline_book / "results").rglob("*") if p.is_file()}
    expected = {p.relative_to(REPO / "results") for p in (REPO / "results").rglob("*")
                if p.is_file() and (p.suffix == ".csv" or (p.name.startswith("run_") and p.suffix == ".json"))}
    assert published == expected and not any(p.suffix == ".pt" for p in published)
