"""A chapter's parameters: declared names, the check against injected ones, where a variant writes, the
``chapter``/``chapters`` commands and the runner's choice of book folder."""
import math
import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tests.conftest import default_sigint

from selcore.book import params, runbook
from selcore.profiles import changed_fields, profile_config
from selcore.config import ConfigError

REPO = Path(__file__).resolve().parents[1]
EXPERIMENT_CHAPTERS = ("baseline", "lottery", "sel95", "warmup")


def test_accept_names_the_undeclared_parameter_and_the_accepted_ones():
    namespace = {"profile": "smoke", "data": "", "percentil": 70, "math": math, "In": [], "_": 3}
    with pytest.raises(ConfigError) as err:
        params.accept("sel95", namespace)
    text = str(err.value)
    assert "'percentil' (did you mean 'percentile'?)" in text and "stage_epochs" in text
    # declared names, modules, the kernel's own names and private names pass
    params.accept("sel95", {"profile": "smoke", "percentile": 70, "math": math, "In": [], "Out": {}, "_x": 1})


def test_every_chapter_calls_accept_with_its_own_name_before_training():
    for name in EXPERIMENT_CHAPTERS:
        nb = nbformat.read(REPO / "chapters" / f"{name}.ipynb", as_version=4)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        first = next(i for i, src in enumerate(code) if "accept(" in src)
        assert f'accept("{name}", globals())' in code[first]
        assert first < next(i for i, src in enumerate(code) if "chapter.run(" in src)


def test_chapter_parameters_match_the_declared_names():
    for name in EXPERIMENT_CHAPTERS:
        listed = [p.name for p in params.chapter_parameters(name)]
        assert set(listed) == params.declared_parameters(REPO / "chapters" / f"{name}.ipynb")
        assert listed[:5] == ["profile", "data", "results_root", "seeds", "fresh"] and listed[-1] == "settings"
    text = params.format_parameters(["sel95"])
    assert "percentile" in text and "guilt threshold percentile" in text


def test_unknown_chapter_is_named():
    with pytest.raises(ConfigError, match="unknown chapter 'sel96'.*sel95"):
        params.source_notebook("sel96")


def test_a_mistyped_profile_is_named_with_the_closest_one():
    from selcore.profiles import check_profile
    with pytest.raises(ConfigError, match=r"profile='quik' \(did you mean 'quick'\?\): must be one of paper, quick"):
        check_profile("quik")
    assert check_profile("smoke") == "smoke"


def test_the_wide_profile_is_the_quick_profile_at_the_papers_width_from_scratch():
    from selcore.profiles import PROFILE_NOTES, PROFILE_SEEDS
    for exp in ("baseline", "lottery", "sel95", "warmup"):
        quick, wide = profile_config("quick", exp), profile_config("wide", exp)
        changed = changed_fields(wide, quick)
        assert wide.width == 64 and not wide.pretrained and quick.width == 16
        assert set(changed) <= {"width", "channels_last"}, changed  # same images, epochs, test set and rules
    assert "width 64" in PROFILE_NOTES["wide"] and PROFILE_SEEDS["wide"][:3] == PROFILE_SEEDS["quick"]


def test_an_unknown_chapter_fails_before_a_run_is_announced(tmp_path):
    from selcore.book import runbook
    said = []
    with pytest.raises(ConfigError, match=r"unknown chapter 'applicatons' \(did you mean 'applications'\?\)"):
        runbook.run_chapter("applicatons", "smoke", out=tmp_path / "x.ipynb", log=said.append)
    assert said == [] and not (tmp_path / "x.ipynb").exists()


def test_one_rule_places_every_run():
    """``profiles.run_folder``: the profile's own configuration in ``<root>/<profile>/seed<k>``, a changed one in
    ``<root>/<profile>/<setting>/seed<k>``; ``rerun_root`` sends a changed configuration of ``experiment`` or
    ``chapter`` to ``runs/`` unless the caller chose a root. A sweep's job lands where the rule says."""
    from selcore.profiles import rerun_root, run_folder
    from selcore.sweep.plan import plan_sweep
    ref = profile_config("smoke", "sel95", seed=42)
    changed = changed_fields(profile_config("smoke", "sel95", seed=43, percentile=70), ref)
    assert changed == {"percentile": 70.0}
    assert run_folder("smoke", 43, changed, rerun_root(changed)) == Path("runs") / "smoke" / "percentile70" / "seed43"
    assert run_folder("smoke", 42, {}, rerun_root({})) == Path("results") / "smoke" / "seed42"  # the profile's own
    assert rerun_root(changed, "elsewhere") == "elsewhere"                                    # the caller chose a root
    [job] = plan_sweep("smoke", ["baseline"], [42], {"percentile": [70]}, "d.tar.gz")
    assert Path(job.root) == run_folder("smoke", 42, {"percentile": 70}).resolve()


def test_chapter_command_fails_fast_on_a_typo_and_writes_nothing(tmp_path):
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "selcore", "chapter", "sel95", "--profile", "smoke",
                        "-p", "percentil", "70", "--out", str(tmp_path / "x.ipynb")],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no parameter 'percentil'" in r.stderr and "percentile" in r.stderr
    assert time.perf_counter() - t0 < 60 and not (tmp_path / "x.ipynb").exists()


def test_chapter_command_refuses_the_committed_book():
    with pytest.raises(ConfigError, match="committed book"):
        runbook.run_chapter("sel95", "smoke", out=REPO / "book" / "sel95.ipynb")


def test_chapters_command_lists_every_chapter():
    r = subprocess.run([sys.executable, "-m", "selcore", "chapters"], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0
    for name in EXPERIMENT_CHAPTERS + ("sweep", "analysis", "claims", "status"):
        assert f"{name} (chapters/{name}.ipynb)" in r.stdout


def test_run_with_another_profile_prepares_a_separate_book(tmp_path):
    repo = tmp_path / "repo"
    (repo / "book").mkdir(parents=True)
    for f in ("_config.yml", "_toc.yml"):
        (repo / f).write_text((REPO / f).read_text())
    (repo / "book" / "intro.md").write_text("# Intro\n")
    nb = nbformat.v4.new_notebook(metadata={"selcore": {"profile": "quick", "complete": True}})
    nbformat.write(nb, repo / "book" / "baseline.ipynb")
    assert runbook.committed_profile(repo / "book") == "quick"
    book = runbook.separate_book_dir("smoke", repo)
    assert book == repo / "runs" / "book-smoke" / "book"
    assert (book / "intro.md").exists() and (book.parent / "_config.yml").exists()
    assert not (book / "baseline.ipynb").exists()


def test_progress_line_states_position_elapsed_and_eta():
    assert runbook.progress_line(2, 9, "lottery", 75, 3725) == "chapter 2/9 lottery | elapsed 1:15 | ETA 1:02:05"
    assert "ETA unknown" in runbook.progress_line(1, 9, "method", 0, None)


# Ctrl-C while the kernel runs a cell; the kernel is made to die before papermill's cleanup has shut it down and
# the cleanup to take 2.5 s: nbclient's interrupted cell task then ends with DeadKernelError, the race a loaded
# machine hits (CI, once). Its report must go to the chapter's log, not after the line that says how to resume.
_DEAD_KERNEL_RACE = """
import asyncio, os, signal, sys, threading, time
from pathlib import Path
from jupyter_core.utils import run_sync
from nbclient.client import NotebookClient
from selcore.book import runbook
original = NotebookClient._async_cleanup_kernel
async def late_cleanup(self):
    self.km.provisioner.process.kill()
    await asyncio.sleep(2.5)
    await original(self)
NotebookClient._cleanup_kernel = run_sync(late_cleanup)
repo, marker = Path(sys.argv[1]), Path(sys.argv[2])
def interrupt_when_running():
    while not marker.exists():
        time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=interrupt_when_running, daemon=True).start()
try:
    runbook.execute_chapter("sleepy", repo / "out" / "sleepy.ipynb", {"marker": str(marker)}, repo,
                            repo / "out" / "sleepy.log")
except runbook.Interrupted as err:
    print(f"interrupted in {err}", file=sys.stderr)
    sys.exit(130)
"""


@pytest.mark.slow
def test_a_kernel_dying_in_the_cleanup_after_ctrl_c_leaves_its_traceback_in_the_log_only(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("marker = ''"),
                nbformat.v4.new_code_cell("import time\nopen(marker, 'w').close()\ntime.sleep(300)")]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "chapters").mkdir()
    nbformat.write(nb, tmp_path / "chapters" / "sleepy.ipynb")
    proc = subprocess.run([sys.executable, "-c", _DEAD_KERNEL_RACE, str(tmp_path), str(tmp_path / "running")],
                          capture_output=True, text=True, timeout=600, cwd=REPO, preexec_fn=default_sigint)
    lines = [ln for ln in proc.stderr.replace("\r", "\n").splitlines() if ln.strip() and "cell/s" not in ln]
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and lines[-1] == "interrupted in sleepy", proc.stderr[-2000:]
    log = (tmp_path / "out" / "sleepy.log").read_text()
    assert "Task exception was never retrieved" in log and "DeadKernelError" in log  # the race did happen
    assert not (tmp_path / "out" / "sleepy.ipynb").exists()


@pytest.mark.slow
def test_ctrl_c_in_a_chapter_ends_with_one_line_and_no_traceback(tmp_path, data_tar):
    import os
    import signal
    env = dict(os.environ, SELCORE_DATA=str(data_tar))
    proc = subprocess.Popen([sys.executable, "-m", "selcore", "chapter", "sel95", "--profile", "smoke",
                             "-p", "results_root", str(tmp_path / "results"), "--out", str(tmp_path / "sel95.ipynb")],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=default_sigint)
    deadline = time.time() + 900  # generous: on a loaded 2-core machine the kernel and the data load take minutes
    while time.time() < deadline and proc.poll() is None and not any((tmp_path / "results").rglob("*.pt")):
        time.sleep(1)   # wait until the chapter is training (its first checkpoint exists)
    if proc.poll() is not None or not any((tmp_path / "results").rglob("*.pt")):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
        pytest.fail(f"the chapter never reached training before the signal (rc {proc.returncode}); stdout: "
                    f"{out[-1500:]}; stderr: {err[-1500:]}; files: {sorted(map(str, tmp_path.rglob('*')))[:40]}")
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and lines[-1].startswith("interrupted in chapter sel95") and "resume" in lines[-1]
    assert not (tmp_path / "sel95.ipynb").exists()


@pytest.mark.slow
def test_a_ctrl_c_test_passes_when_the_suite_was_started_with_sigint_ignored(tmp_path):
    """A suite started as a background job of a non-interactive shell inherits SIGINT ignored; the Ctrl-C tests
    restore its default in the processes they signal (``conftest.default_sigint``), so one of them passes when
    pytest itself runs with SIGINT ignored."""
    import signal
    test = "tests/test_params.py::test_a_kernel_dying_in_the_cleanup_after_ctrl_c_leaves_its_traceback_in_the_log_only"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test,
                           "--basetemp", str(tmp_path / "inner")], cwd=REPO, capture_output=True, text=True,
                          timeout=900, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-3000:]


@pytest.mark.slow
def test_papermill_from_another_folder_checks_first_and_works_from_the_repository(tmp_path):
    """papermill run directly from another folder: a bad profile fails in the first cell, before the engine is
    imported; a good run works from the repository root and says where its results go."""
    import time
    bad = tmp_path / "bad.ipynb"
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "papermill", str(REPO / "chapters" / "sel95.ipynb"), str(bad),
                        "-p", "profile", "smok"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "bad parameter profile='smok' (did you mean 'smoke'?)" in r.stderr + r.stdout
    assert time.perf_counter() - t0 < 120
    nb = json.loads(bad.read_text())
    failed = [i for i, c in enumerate(nb["cells"]) if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert failed and "import torch" not in "".join(nb["cells"][failed[0]]["source"])
    out = tmp_path / "status.ipynb"
    r = subprocess.run([sys.executable, "-m", "papermill", str(REPO / "chapters" / "status.ipynb"), str(out),
                        "-p", "profile", "quick"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    printed = "".join("".join(o.get("text", "")) for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", []))
    assert f"results under {REPO / 'results'}" in printed
    assert not (tmp_path / "results").exists()  # nothing written under the folder papermill was started from


def test_a_chapter_launches_each_configuration_where_the_rule_places_it():
    """``book.launch``: the configurations of a chapter, seed by seed, each in ``profiles.run_folder``'s folder
    (SGD is a setting of its own: ``optimizersgd``)."""
    from selcore.book.launch import configs_for, folder_of
    from selcore.profiles import run_folder
    cfgs = configs_for("smoke", ["sel95", "baseline"], [42, 43], optimizer="sgd", device=None)
    assert [(c.experiment, c.seed, c.optimizer) for c in cfgs] == [
        ("sel95", 42, "sgd"), ("baseline", 42, "sgd"), ("sel95", 43, "sgd"), ("baseline", 43, "sgd")]
    assert folder_of(cfgs[2], "smoke", "results") == run_folder("smoke", 43, {"optimizer": "sgd"}) == \
        Path("results") / "smoke" / "optimizersgd" / "seed43"
    own = configs_for("smoke", ["sel95"], [42])[0]
    assert folder_of(own, "smoke", "results") == Path("results") / "smoke" / "seed42"


def test_the_kernels_shutdown_interrupt_line_is_dropped_and_nothing_else():
    """jupyter_client interrupts a kernel before shutting it down; ipykernel then may log 'KeyboardInterrupt caught in
    kernel.' at the end of a successful run. accept() drops that line from the kernel's log, once, and keeps the rest."""
    import logging
    from types import SimpleNamespace
    log = logging.getLogger("test-kernel-log")
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    log.addHandler(handler)
    kernel = SimpleNamespace(log=log)
    params.quiet_shutdown_interrupt(kernel)
    params.quiet_shutdown_interrupt(kernel)  # a second chapter cell: one filter
    log.error("KeyboardInterrupt caught in kernel.")
    log.error("Exception in message handler:")
    assert [r.getMessage() for r in records] == ["Exception in message handler:"] and len(log.filters) == 1
