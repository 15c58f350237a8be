"""Every command in the README and the reproducing page is executed, in a copy of the repository, and none
of them writes into ``book/`` or ``results/``.

The commands run once per session (``tests/documented.py``, the ``documented_run`` fixture of ``conftest.py``,
where the substitutions are stated: ``quick`` becomes ``smoke`` for commands that train, ``bench`` runs at the smoke
size); ``test_book.py`` checks the smoke book the README's ``run`` command executed there.
"""
import subprocess
import sys
from pathlib import Path

import pytest

from documented import PAGES, REPO, adapted, documented_commands


def test_every_page_documents_commands_and_the_install_matches_ci():
    commands = [c for page in PAGES for c in documented_commands((REPO / page).read_text())]
    assert any(c.startswith("python -m selcore run") for c in commands)
    assert any(c.startswith("python -m selcore chapter ") for c in commands)
    assert "python3 -m pip install --quiet -e '.[test]'" in (REPO / ".ci" / "run").read_text()
    assert all(adapted(c, Path("x")) is None or adapted(c, Path("x"))[0] in (sys.executable, "papermill",
                                                                           "jupyter-book") for c in commands)


def test_bench_runs_at_the_smoke_size():
    assert adapted("python -m selcore bench --data PATH", Path("d"))[3:] == ["bench", "--data", "d", "--images", "100",
                                                                            "--repeats", "1", "--check-epochs", "1"]
    assert adapted("python -m selcore bench --images 9", Path("d"))[3:] == ["bench", "--images", "9"]


@pytest.mark.slow
def test_documented_commands_run_and_leave_book_and_results_alone(documented_run):
    for (page, command, _), secs in zip(documented_run.ran, documented_run.seconds):
        print(f"{secs:7.1f} s  {page}: {command}")   # shown with -rA or -s: where the session's minutes go
    assert not documented_run.failed, documented_run.failed
    ran = [c for _, c, r in documented_run.ran if r.returncode == 0]
    assert len(ran) >= 8, ran
    chapter = next(r for _, c, r in documented_run.ran if c.startswith("python -m selcore chapter "))
    out = " ".join(chapter.stdout.split())
    finding = out[out.index("Finding."):out.index("executed notebook:")]  # printed with the run's numbers
    # the rerun changes percentile, so the finding speaks of its own run only: its profile, the changed parameter
    # by name, one run as one value; the width-64 runs (the profile's own settings) do not lead it
    assert finding.startswith("Finding. In this execution (ResNet-18 at width 8 from scratch, profile smoke, "
                              "percentile = 70.0, one run, seed 42) "), out
    assert "(one run each)" in finding and "paper's width" not in finding and "{glue" not in finding, out
    assert "[not computed" not in finding and "% of the held-out images" in finding
    assert documented_run.changed == "", f"documented commands wrote into book/ or results/:\n{documented_run.changed}"
    repo = documented_run.repo
    assert (repo / "runs" / "book-smoke" / "book" / "baseline.ipynb").exists()   # run --profile smoke: its own book
    # and nothing written since (the smoke book's build and the tests that read it write under runs/ only)
    changed = subprocess.run(["git", "status", "--porcelain", "--", "book", "results"], cwd=repo,
                             capture_output=True, text=True, check=True).stdout
    assert changed == "", changed
