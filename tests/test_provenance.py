"""selcore.book.provenance reads executed notebooks and run.json files (no training, no kernel: seconds)."""
from __future__ import annotations

import json

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from selcore.book import provenance
def _executed(path, profile="smoke", error=None, papermill=True):
    cell = new_code_cell("1 + 1")
    cell.metadata["papermill"] = {"duration": 1.5}
    if error:
        cell.outputs = [new_output("error", ename=error[0], evalue=error[1], traceback=[])]
    nb = new_notebook(cells=[new_markdown_cell("# A chapter"), cell])
    if papermill:
        nb.metadata["papermill"] = {"start_time": "2026-01-02T03:04:05.123+00:00",
                                    "end_time": "2026-01-02T03:04:09.000+00:00", "duration": 3.9,
                                    "exception": bool(error), "parameters": {"profile": profile}}
        nb.metadata["selcore"] = {"profile": profile, "data": "some.tar.gz", "complete": not error}
    nbformat.write(nb, path)


def test_executed_notebooks_table(tmp_path):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: b\n- file: a\n- file: status\n")
    _executed(tmp_path / "a.ipynb", error=("ValueError", "bad value\nmore"))
    _executed(tmp_path / "b.ipynb")
    _executed(tmp_path / "status.ipynb")
    _executed(tmp_path / ".a.running.ipynb")
    (tmp_path / ".failed").mkdir()
    _executed(tmp_path / ".failed" / "c.ipynb", error=("RuntimeError", "boom"))
    df = provenance.executed_notebooks(tmp_path)
    assert list(df["chapter"]) == ["b", "a", "c"]          # toc order, status page and temp files left out
    assert df.loc[0, "status"] == "ok" and df.loc[0, "title"] == "A chapter"
    assert df.loc[0, "started (UTC)"] == "2026-01-02 03:04:05" and df.loc[0, "duration s"] == 3.9
    assert df.loc[1, "status"] == "exception: ValueError: bad value"
    assert df.loc[2, "status"].startswith("set aside after failing")
    assert df.loc[0, "profile"] == "smoke" and df.loc[0, "slowest cell s"] == 1.5


def test_not_papermill_and_empty(tmp_path):
    assert provenance.executed_notebooks(tmp_path / "missing").empty
    _executed(tmp_path / "x.ipynb", papermill=False)
    assert provenance.executed_notebooks(tmp_path).loc[0, "status"] == "not executed by papermill"


def test_run_records(tmp_path):
    folder = tmp_path / "smoke"
    folder.mkdir()
    (folder / "run_sel95.json").write_text(json.dumps({
        "experiment": "sel95", "status": "finished", "seed": 42, "data_source": "x.tar.gz", "train_images": 1000,
        "epochs_logged": 5, "started_utc": "2026-01-02T03:04:05Z",
        "environment": {"device": "cpu", "device_name": "CPU", "time_utc": "2026-01-02T03:05:05Z",
                        "git_commit": "0123456789abcdef0123-dirty"}}))
    (folder / "run_lottery.json").write_text("{not json")
    df = provenance.run_records(tmp_path, "smoke")
    row = df.set_index("experiment").loc["sel95"]
    assert row["status"] == "finished" and row["train images"] == 1000 and row["git commit"] == "0123456789-dirty"
    assert df.set_index("experiment").loc["lottery", "status"].startswith("unreadable")
    assert provenance.run_records(tmp_path, "paper").empty


def _run_json(folder, experiment, seed, status="finished"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"run_{experiment}.json").write_text(json.dumps({
        "experiment": experiment, "status": status, "seed": seed, "environment": {"device": "cpu"}}))


def test_run_records_over_seed_folders(tmp_path):
    root = tmp_path / "quick"
    for seed in (44, 42, 43):
        for e in ("sel95", "baseline"):
            _run_json(root / f"seed{seed}", e, seed)
        _run_json(root / "sgd" / f"seed{seed}", "sel95", seed, status="running")
    _run_json(root / "seed42" / "checkpoints", "baseline", 42)          # not a run of its own
    (root / "seed43" / "run_lottery.json").write_text("{not json")
    df = provenance.run_records(tmp_path, "quick")
    assert len(df) == 3 * 2 + 1 + 3
    main = df[df["group"] == "main"]
    assert list(main["seed"]) == [42, 42, 43, 43, 43, 44, 44]
    assert list(main["experiment"][:2]) == ["baseline", "sel95"]
    assert main.set_index(["seed", "experiment"]).loc[(43, "lottery"), "status"].startswith("unreadable")
    sgd = df[df["group"] == "sgd"]
    assert list(sgd["seed"]) == [42, 43, 44] and set(sgd["status"]) == {"running"}
    assert list(sgd["folder"]) == ["sgd/seed42", "sgd/seed43", "sgd/seed44"]


def test_versions_and_hardware():
    v = provenance.package_versions(("pandas", "no-such-package-xyz"))
    assert v["python"] and v["pandas"] != "not installed" and v["no-such-package-xyz"] == "not installed"
    hw = provenance.hardware()
    assert hw["logical cores"] >= 1 and hw["torch threads"] >= 1 and "gpus" in hw


def test_run_json_environment_is_the_status_pages_capture():
    import torch
    from selcore.engine.results import environment
    env, v, hw = environment(torch.device("cpu")), provenance.package_versions(), provenance.hardware()
    assert (env["python"], env["torch"], env["torchvision"]) == (v["python"], v["torch"], v["torchvision"])
    assert (env["platform"], env["processor"], env["cpu_threads"]) == (hw["platform"], hw["cpu"], hw["torch threads"])
    assert env["device"] == "cpu" and env["device_name"] == "CPU" and env["git_commit"] == provenance.git_commit()


def test_git_commit_is_dirty_for_code_changes_not_for_the_runs_own_outputs(tmp_path):
    import subprocess
    from selcore.engine.results import git_commit

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    for rel in ("book/baseline.ipynb", "results/quick/seed42/hist_baseline.csv", "selcore/train.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("v1\n")
    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert git_commit(tmp_path / "selcore") == head
    (tmp_path / "book/baseline.ipynb").write_text("re-executed\n")
    (tmp_path / "results/quick/seed42/hist_baseline.csv").unlink()
    assert git_commit(tmp_path / "selcore") == head            # a rerun of the book rewrites these
    (tmp_path / "selcore/train.py").write_text("v2\n")
    assert git_commit(tmp_path / "selcore") == head + "-dirty"  # a code change does not go unrecorded


def test_seed_folder_names_are_made_and_read_in_one_place(tmp_path):
    """paths.seed_folder_name and paths.seed_of: the names every layer makes and reads (profiles, sweeps, the
    status page, the commit check, the ledger's seed folders)."""
    from selcore.paths import seed_folder_name, seed_of
    from selcore.profiles import seed_dir
    from selcore.report.commits import is_seed_folder, setting_of
    from selcore.report.stats import seed_folders
    assert seed_folder_name(47) == "seed47" and seed_dir("wide", 47, tmp_path) == tmp_path / "wide" / "seed47"
    assert [seed_of(n) for n in ("seed47", tmp_path / "quick" / "seed5", "seed", "seeds", "seed4x", "sgd")] == \
        [47, 5, None, None, None, None]
    for name in ("seed45", "seed9", "seed_plan.csv", "seedling"):
        (tmp_path / name).mkdir()
    assert [f.name for f in seed_folders(tmp_path)] == ["seed9", "seed45"]  # by seed, not by name
    assert [f.name for f in seed_folders(tmp_path, [45])] == ["seed45"]
    assert is_seed_folder("seed42") and not is_seed_folder("seed_plan.csv")
    assert setting_of("budget0.25/seed42") == "budget0.25" and setting_of("seed42") == "."


def test_the_status_page_sums_the_runs_per_study_and_folds_the_full_table():
    from selcore.book import provenance
    from tests.conftest import REPO
    runs = provenance.run_records(REPO / "results", "quick")
    summary = provenance.run_summary(runs)
    assert list(summary.columns) == ["study", "experiments", "seeds", "runs", "finished", "commits"]
    assert summary["runs"].sum() == len(runs) and len(summary) == runs["group"].nunique() < 10
    main = summary.set_index("study").loc["main"]
    assert main["finished"] <= main["runs"] and "42" in main["seeds"]
    html = provenance.folded(runs.style.hide(axis="index"), "Every run")
    assert html.startswith("<details><summary>Every run</summary>") and html.count("<tr") == len(runs) + 1


def test_a_column_with_one_value_is_stated_once_not_repeated():
    runs = pd.DataFrame({"group": ["main", "sgd"], "seed": [42, 42], "experiment": ["sel95", "sel95"],
                         "status": ["finished", "finished"], "device": ["cpu", "cpu"], "git commit": ["a", "b"]})
    varying, same = provenance.split_constant(runs)
    assert list(varying.columns) == ["group", "seed", "experiment", "status", "git commit"]
    assert same == {"device": "cpu"}
