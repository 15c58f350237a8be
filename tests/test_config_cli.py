"""Bad input: one clear error line before any work, from the API and the command line."""
import subprocess
import sys

import pytest

from selcore.config import ALL_EXPERIMENTS, Config, ConfigError
from tests.conftest import REPO


@pytest.mark.parametrize("change, name", [
    (dict(num_epochs=0), "num_epochs"), (dict(num_epochs=-3), "num_epochs"),
    (dict(stage_epochs=(10, 0, 10, 10, 10)), "stage_epochs"), (dict(stage_epochs=(1, 1)), "stage_epochs"),
    (dict(percentile=0), "percentile"), (dict(percentile=100), "percentile"), (dict(percentile=-1), "percentile"),
    (dict(prune_fraction=0), "prune_fraction"), (dict(prune_fraction=1), "prune_fraction"),
    (dict(experiment="sel50"), "experiment"), (dict(prune_scope="bn"), "prune_scope"),
    (dict(stage_windows=((0.5, 0.2),) * 5), "stage_windows"), (dict(lr=0), "lr"),
    (dict(experiment="warmup", train_per_class=50, warmup_per_class=100), "warmup_per_class"),
])
def test_bad_values_name_the_parameter(change, name):
    with pytest.raises(ConfigError, match=name) as e:
        Config(**change)
    assert "\n" not in str(e.value)


def test_overrides_are_typed_and_unknown_keys_rejected():
    c = Config().with_overrides(["num_epochs=5", "stage_epochs=2,2,2,2,2", "pretrained=false", "lr=0.01",
                                 "stage_windows=[[0,0.5],[0.5,1]]", "stage_epochs=[3,4]"])
    assert c.num_epochs == 5 and c.stage_epochs == (3, 4) and c.lr == 0.01 and c.num_stages == 2
    with pytest.raises(ConfigError, match="unknown parameter 'epochz'"):
        Config().with_overrides(["epochz=3"])
    with pytest.raises(ConfigError, match=r"unknown parameter 'world_sise' \(did you mean 'world_size'\?\)"):
        Config().with_overrides(["world_sise=3"])
    with pytest.raises(ConfigError, match=r"unknown parameter 'zzzz': allowed"):  # nothing close: no guess
        Config().with_overrides(["zzzz=3"])
    from selcore.config import did_you_mean
    assert did_you_mean(["ddp_sell"], ALL_EXPERIMENTS) == " (did you mean 'ddp_sel'?)"
    assert did_you_mean(["a", "percentil"], ["percentile", "seeds"]) == " (did you mean 'percentile'?)"
    assert did_you_mean(["zzzz"], ALL_EXPERIMENTS) == ""
    with pytest.raises(ConfigError, match="num_epochs"):
        Config().with_overrides(["num_epochs=three"])
    with pytest.raises(ConfigError, match="num_epochs"):
        Config().replace(num_epochs=2.5)


def test_config_round_trips_through_dict():
    c = Config(experiment="sel95", stage_epochs=(1, 2, 3, 4, 5), width=16)
    assert Config.from_dict(c.to_dict()) == c


def cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "selcore", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.slow  # a fresh interpreter per case
@pytest.mark.parametrize("args, words", [
    (["experiment", "sel50", "--profile", "quick", "--out", "{out}"],
     "unknown experiment 'sel50' (did you mean 'sel95'?)"),
    (["experiment", "baseline", "--profile", "quick", "--out", "{out}", "--frobnicate"], "unrecognized arguments"),
    (["experiment", "baseline", "--profile", "quick", "--out", "{out}", "--set", "num_epochs=0"], "num_epochs"),
    (["experiment", "sel95", "--profile", "quick", "--out", "{out}", "--set", "percentile=100"], "percentile"),
    (["experiment", "lottery", "--profile", "quick", "--out", "{out}", "--set", "prune_fraction=1.5"], "prune_fraction"),
    (["experiment", "baseline", "--profile", "quick", "--out", "{out}", "--set", "nonsense=1"], "unknown parameter"),
    (["experiment", "baseline", "--profile", "quick", "--out", "{out}", "--data", "{out}/missing.tar.gz"], "does not exist"),
    (["summary", "{out}"], "no hist_"),
])
def test_cli_bad_input_is_one_line_and_starts_no_work(tmp_path, args, words):
    r = cli(*[a.format(out=tmp_path) for a in args])
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], r.stderr
    assert not list(tmp_path.glob("run_*.json")) and not list(tmp_path.glob("hist_*.csv"))


def test_an_error_found_before_the_engine_loads_is_reported_without_loading_it(tmp_path):
    """A typo in an experiment's name or a bad parameter value is told in one line before torch is imported (a
    fraction of a second), and an error class of an engine module is still reported in one line once loaded."""
    code = ("import sys\nfrom selcore.cli import main\n"
            f"assert main(['experiment', 'sel50', '--profile', 'quick', '--out', {str(tmp_path)!r}]) == 2\n"
            f"assert main(['experiment', 'sel95', '--profile', 'quick', '--out', {str(tmp_path)!r}, '--set', 'percentile=100']) == 2\n"
            "print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr
    assert r.stderr.count("error: ") == 2 and "did you mean 'sel95'?" in r.stderr
    from selcore.cli import loaded_errors, report
    from selcore.engine.data import DataError
    assert DataError in loaded_errors() and report(DataError("no images")) == 2


@pytest.mark.slow
def test_cli_corrupt_and_nine_class_data(tmp_path, data_tar):
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data_tar.read_bytes()[:1_000_000])
    r = cli("experiment", "baseline", "--profile", "quick", "--out", str(tmp_path / "o"), "--data", str(cut),
            "--set", f"data_cache={tmp_path / 'c'}")
    assert r.returncode == 2 and "corrupt or truncated" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    import tarfile
    with tarfile.open(data_tar) as tf:
        for m in tf:
            if m.isfile() and m.name.endswith("/0000.jpg") and "/ship/" not in m.name:
                tf.extract(m, tmp_path / "t", filter="data")
    root = next(p for p in (tmp_path / "t").rglob("train")).parent
    r = cli("experiment", "baseline", "--profile", "quick", "--out", str(tmp_path / "o"), "--data", str(root),
            "--set", f"data_cache={tmp_path / 'c'}")
    assert r.returncode == 2 and "CIFAR-10 needs 10" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "hist_baseline.csv").exists()


@pytest.mark.slow
def test_params_lists_every_field():
    r = cli("params")
    assert r.returncode == 0
    for name in Config.fields():
        assert name in r.stdout


def test_one_rule_for_the_profile_and_the_output_of_run_chapter_experiment_and_sweep(capsys, monkeypatch):
    from selcore import cli
    from selcore.profiles import default_profile
    parser = cli.build_parser()
    base = {"run": [], "chapter": ["sel95"], "experiment": ["sel95"], "sweep": []}
    for command, extra in base.items():
        args = parser.parse_args([command, *extra])
        assert args.profile is None, command  # no command picks a profile of its own
        sub = parser._subparsers._group_actions[0].choices[command]
        profile_help = next(a.help for a in sub._actions if "--profile" in a.option_strings)
        assert cli.PROFILE_RULE in profile_help, command
    assert parser.parse_args(["experiment", "sel95"]).out is None  # --out optional everywhere
    assert cli.chosen_profile(None) == default_profile() == "quick"  # this machine has no CUDA device
    assert capsys.readouterr().err.strip() == "*** no --profile given: using 'quick' (no CUDA device found) ***"
    assert cli.chosen_profile("wide") == "wide" and capsys.readouterr().err == ""


def test_a_chapter_variant_keeps_its_notebook_and_its_results_in_one_folder(tmp_path):
    from selcore.book.runbook import chapter_notebook
    from selcore.profiles import rerun_root, run_folder
    notebook = chapter_notebook("sel95", {"percentile": 70}, "smoke", tmp_path)  # run_chapter's default --out
    results = tmp_path / run_folder("smoke", 42, {"percentile": 70.0}, rerun_root({"percentile": 70.0}))
    assert results.parent == notebook.parent == tmp_path / "runs" / "smoke" / "percentile70"


def test_help_imports_neither_torch_nor_the_engine():
    code = ("import sys\nfrom selcore.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('selcore.engine')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout + r.stderr
