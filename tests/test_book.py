"""The whole book under the smoke profile, on the real CIFAR-10 images: every chapter executed by
papermill through `python -m selcore run`, then `jupyter-book build -W`, then checked in a browser.

The chapters are executed once per session, by the README's own `python -m selcore run` (as smoke) in the copy of
the repository where the documented commands run (``tests/documented.py``): the book in that copy's
``runs/book-smoke``, its results in the copy's ``results/``."""
import json
import re
import subprocess
import sys

import nbformat
import pandas as pd
import pytest
import yaml

from selcore.report import plots
from selcore.config import ABLATIONS
from selcore.profiles import PROFILES, PROFILE_SEEDS
from selcore.book.runbook import toc_files
from selcore.engine.rows import columns
from tests.conftest import REPO

SMOKE = PROFILES["smoke"]
ROWS = {"baseline": SMOKE["num_epochs"], "lottery": SMOKE["num_epochs"], "sel95": sum(SMOKE["stage_epochs"]),
        "warmup": SMOKE["warmup_epochs"] + sum(SMOKE["stage_epochs"])}
CHAPTERS = tuple(n for n in toc_files(REPO) if (REPO / "chapters" / f"{n}.ipynb").exists())
"""The executed chapters, in the book's order (method ... sweep ... status)."""
SEED = 42


@pytest.fixture(scope="session")
def smoke_book(documented_run):
    """``runs/book-smoke`` of the documented commands' copy (``book/``, ``_config.yml``, and ``results`` linking
    to the copy's results folder, the chapters' ``results_root``), built here with ``jupyter-book build -W``."""
    from documented import RUN_SMOKE_BOOK
    r = documented_run.result(RUN_SMOKE_BOOK)
    assert r.returncode == 0, r.stderr[-4000:]
    root = documented_run.repo / "runs" / "book-smoke"
    (root / "results").symlink_to(documented_run.repo / "results", target_is_directory=True)
    b = subprocess.run(["jupyter-book", "build", str(root / "book"), "-W", "-n", "--keep-going"], cwd=root,
                       capture_output=True, text=True, timeout=900)
    assert b.returncode == 0, b.stdout[-4000:] + b.stderr[-2000:]
    return root


def _repo_of(smoke_book):
    """The copy of the repository whose `python -m selcore run` executed ``smoke_book``."""
    return smoke_book.parents[1]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ROWS) + list(ABLATIONS))
def test_each_experiment_csv_has_schema_and_rows(smoke_book, name):
    assert PROFILE_SEEDS["smoke"] == (SEED,)
    folder = smoke_book / "results" / "smoke" / f"seed{SEED}"
    df = pd.read_csv(folder / f"hist_{name}.csv")
    assert list(df.columns) == columns(name)
    if name in ROWS:
        assert len(df) == ROWS[name]
    info = json.loads((folder / f"run_{name}.json").read_text())
    assert info["status"] == "finished" and info["data_source"] == "cifar10-jpeg.tar.gz"


@pytest.mark.slow
def test_sgd_contrast_was_run(smoke_book):
    df = pd.read_csv(smoke_book / "results" / "smoke" / "optimizersgd" / f"seed{SEED}" / "hist_sel95.csv")
    info = json.loads((smoke_book / "results" / "smoke" / "optimizersgd" / f"seed{SEED}" / "run_sel95.json").read_text())
    assert info["config"]["optimizer"] == "sgd" and len(df) == ROWS["sel95"]


@pytest.mark.slow
def test_every_analysis_figure_was_produced(smoke_book):
    figs = smoke_book / "results" / "smoke" / "figures"
    for name in plots.FIGURES:
        png = figs / f"{name}.png"
        assert png.exists() and png.stat().st_size > 5000, name


def _glue_names(nb):
    """Names of the values a notebook glued (myst-nb stores them as outputs with scrapbook metadata)."""
    return {o["metadata"]["scrapbook"]["name"] for c in nb.cells for o in c.get("outputs", [])
            if "scrapbook" in (o.get("metadata") or {})}


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapters_executed_with_profile_and_glued_values_exist(smoke_book, data_tar, chapter):
    import os
    nb = nbformat.read(smoke_book / "book" / f"{chapter}.ipynb", as_version=4)
    # the data source is recorded relative to the repository (no machine path), as the run was given it
    assert nb.metadata["selcore"] == {"profile": "smoke", "data": os.path.relpath(data_tar, _repo_of(smoke_book)),
                                      "complete": True}
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    text = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    # this page's own keys (a key then ` or :format); keys of other pages (`page.ipynb::key`) are checked by the
    # book's -W build
    wanted = set(re.findall(r"\{glue(?::\w+)?\}`([A-Za-z0-9_]+)[`:]", text))
    missing = wanted - _glue_names(nb)
    assert not missing, f"{chapter}: prose refers to values never glued: {sorted(missing)}"
    if chapter in ("baseline", "lottery", "sel95", "warmup", "sparsity", "ablations", "sweep", "equal_compute",
                   "applications", "analysis", "claims"):
        assert wanted, f"{chapter}: no number in the prose comes from the run"
    banner = "Profile `smoke`"
    assert any(banner in json.dumps(o) for c in nb.cells for o in c.get("outputs", [])), chapter


@pytest.mark.slow
def test_rerun_skips_finished_chapters(smoke_book, data_tar, documented_run):
    # the book's own folders named explicitly (absolute), from the repository that executed it
    r = subprocess.run([sys.executable, "-m", "selcore", "run", "--profile", "smoke", "--data", str(data_tar),
                        "--book-dir", str(smoke_book / "book"), "--results-root", str(smoke_book / "results")],
                       cwd=_repo_of(smoke_book), env=documented_run.env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.count("skipped") == len(CHAPTERS), r.stdout


@pytest.mark.slow
def test_built_smoke_book_shows_its_figures(smoke_book):
    from browser_util import assert_page_images, browser_missing_reason
    reason = browser_missing_reason()
    if reason:
        pytest.fail(reason) if __import__("os").environ.get("CI") else pytest.skip(reason)
    html = smoke_book / "_build" / "html"
    assert_page_images(html / "analysis.html", len(plots.FIGURES))
    assert_page_images(html / "method.html", 5)
    for e in ROWS:
        assert_page_images(html / f"{e}.html", 1)
    assert_page_images(html / "ablations.html", 3)
    assert_page_images(html / "sweep.html", 1)
    assert_page_images(html / "equal_compute.html", 1)
    assert_page_images(html / "applications.html", 1)
    assert_page_images(html / "sparsity.html", 1)


def test_source_notebooks_are_clean_and_parametrised():
    from papermill.translators import PythonTranslator

    from selcore.book.params import declared_parameters
    for nb_path in sorted((REPO / "chapters").glob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "python3", nb_path.name
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert not any(c.get("outputs") or c.get("execution_count") for c in code), f"{nb_path.name} carries outputs"
        tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{nb_path.name}: needs exactly one cell tagged 'parameters'"
        declared = declared_parameters(nb_path)
        assert {"profile", "data", "results_root"} <= declared, (nb_path.name, declared)
        # `papermill --help-notebook` lists every parameter (it parses one plain assignment per line)
        assert {p.name for p in PythonTranslator.inspect(tagged[0])} == declared, nb_path.name
        assert not re.search(r"^\s*(def|class)\s", "\n".join(c.source for c in code), re.M), \
            f"{nb_path.name} defines reusable code: put it in selcore"


def test_toc_lists_only_existing_pages():
    from selcore.book.runbook import toc_files
    for name in toc_files(REPO):
        assert (REPO / "book" / f"{name}.md").exists() or (REPO / "chapters" / f"{name}.ipynb").exists(), name
    assert (REPO / "book" / "_toc.yml").resolve() == (REPO / "_toc.yml").resolve()


def test_environment_yml_installs_pyproject_dependencies():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    assert any(p.startswith("-e .") for p in pip)  # installs this project, hence pyproject's dependencies
    assert "python=3.11" in env["dependencies"] and "conda-forge" in env["channels"]


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "python -m pytest -q" in readme and "python3 -m pytest -q" in ci


MACHINE_PATH = re.compile(r"""["'\s=(](/(?:work|root|tmp|home|check|Users|mnt)/[^"'\s]*)""")


def test_portable_metadata_makes_papermill_paths_relative(tmp_path):
    from selcore.book.runbook import portable_metadata
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"input_path": str(tmp_path / "chapters" / "x.ipynb"),
                                "output_path": str(tmp_path / "book" / ".x.running.ipynb")}
    portable_metadata(nb, tmp_path / "book" / "x.ipynb", tmp_path)
    assert nb.metadata["papermill"]["input_path"] == "chapters/x.ipynb"
    assert nb.metadata["papermill"]["output_path"] == "book/x.ipynb"


def test_committed_book_and_results_record_no_machine_paths():
    files = sorted((REPO / "book").glob("*.ipynb")) + sorted((REPO / "results").rglob("*.json")) \
        + sorted((REPO / "results").rglob("*.csv"))
    assert files, "no committed book or results"
    for f in files:
        hit = MACHINE_PATH.search(f.read_text())
        assert not hit, f"{f.relative_to(REPO)} records the machine path {hit.group(1)}"


def test_the_exercises_page_gathers_every_chapters_exercises():
    """book/exercises.md is the generated page (``python -m selcore run`` writes it), in the table of contents, and
    linked from the README and the first page; every chapter with an exercises cell is on it, with a link."""
    from selcore.book import exercises
    page = (REPO / "book" / "exercises.md").read_text()
    assert page == exercises.page(), "book/exercises.md is stale: python -m selcore run rewrites it"
    assert "file: exercises" in (REPO / "_toc.yml").read_text()
    assert "book/exercises.md" in (REPO / "README.md").read_text() and "{doc}`exercises`" in (REPO / "book" / "intro.md").read_text()
    chapters = [p.stem for p in sorted((REPO / "chapters").glob("*.ipynb")) if exercises.chapter_exercises(p.stem)]
    assert len(chapters) >= 8
    for name in chapters:
        assert f"From {{doc}}`{name}`." in page
    assert "export SELCORE_DATA=" in page


def test_each_figure_caption_says_what_its_figure_draws():
    """A figure cell that draws the first seed only (``runs.mine``) says one run; one that draws every seed
    (``per_seed``, ``runs.per_seed``) says it draws their mean; no caption claims a mean of one run."""
    seen = 0
    for path in sorted((REPO / "chapters").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            fig = cell.get("metadata", {}).get("mystnb", {}).get("figure")
            if not fig or cell.cell_type != "code":
                continue
            caption, src = fig.get("caption", ""), cell.source
            if "runs.mine" in src:
                assert "one run" in caption and "mean over the seeds" not in caption, f"{path.name}: {caption}"
                seen += 1
            elif "per_seed" in src:
                assert "mean over the seeds" in caption, f"{path.name}: a figure over the seeds: {caption}"
    assert seen >= 6
