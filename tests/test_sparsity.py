"""The sparsity study (studies.sparsity_study) and its stand-in for ImageNet weights (studies.standin), on real images."""
from __future__ import annotations

import json

import nbformat
import pandas as pd
import pytest
import torch

from selcore.config import Config
from selcore.engine.data import DeviceData, first_per_class, per_class_range
from selcore.engine.models import WeightsUnavailable, build_model
from selcore.studies.sparsity_study import CALIBRATIONS, KEY, SMOKE, Point, Study, points_path, run_study, study_for
from selcore.studies.standin import StandIn, record_path, train_standin, weights_path


def small(width: int) -> StandIn:
    """The recipe but for its size: one epoch over the last 20 training images of each class."""
    return StandIn(width, epochs=1, skip_per_class=4980)


def test_the_stand_in_trains_on_the_images_the_profiles_leave_out(cifar):
    kept, left = first_per_class(cifar.train_y, 500), per_class_range(cifar.train_y, 500)
    assert len(kept) == 5000 and len(left) == 45000 and not set(kept.tolist()) & set(left.tolist())
    assert torch.equal(torch.bincount(cifar.train_y[left]), torch.full((10,), 4500))
    data = DeviceData(cifar, torch.device("cpu"), 0, 10, 30, train_skip_per_class=500)
    assert len(data) == 45000 and torch.equal(data.train_x[:3], cifar.train_x[left[:3]])


def test_a_stand_in_is_adapted_as_the_original_adapts_imagenet_weights(tmp_path, cifar):
    path = train_standin(small(8), cifar, tmp_path, torch.device("cpu"), log=lambda m: None)
    rec = json.loads(record_path(tmp_path, 8).read_text())
    assert rec["training_images"] == 200 and rec["seed"] == 0 and 0 <= rec["test_full"] <= 100
    assert rec["test_images"] == 10000 and rec["training"]["optimizer"] == "adam"
    state = torch.load(path, weights_only=True)
    # one epoch of 200 images in the quick profile's batches of 64
    assert float(state["layer2.0.bn1.num_batches_tracked"]) == 4
    torch.manual_seed(1)
    net = build_model(8, pretrained=True, weights_file=str(path))
    torch.manual_seed(1)
    fresh = build_model(8)
    ours = net.state_dict()
    kept = [k for k in ours if not k.startswith(("conv1.", "fc."))]
    assert all(torch.equal(ours[k], state[k]) for k in kept)  # BatchNorm running statistics included
    assert not torch.equal(state["bn1.running_mean"], fresh.state_dict()["bn1.running_mean"])
    assert torch.equal(net.conv1.weight, fresh.conv1.weight) and torch.equal(net.fc.weight, fresh.fc.weight)
    with pytest.raises(WeightsUnavailable, match="another width"):
        build_model(16, pretrained=True, weights_file=str(path))
    Config(pretrained=True, width=8, weights_file=str(path))  # another width than 64 is allowed with a file
    before = path.stat().st_mtime_ns
    train_standin(small(8), cifar, tmp_path, torch.device("cpu"), log=lambda m: None)  # exists: skipped
    assert path.stat().st_mtime_ns == before


def test_the_grid_is_the_planned_one():
    points = study_for("quick").points()
    assert study_for("wide") == study_for("paper") == Study() and study_for("smoke") == SMOKE
    assert len(points) == 3 * 2 * 2 * 5 and {p.seed for p in points} == {42, 43, 44, 45, 46}
    assert {p.width for p in points} == {16, 32, 64} and Study().standin(64) == StandIn(64, 0, 2, 500)
    cfg = Point("quick", 64, "stand-in", "train", 43).config(standin_file="w.pt")
    assert (cfg.width, cfg.seed, cfg.pretrained, cfg.weights_file, cfg.train_per_class) == (64, 43, True, "w.pt", 500)
    assert (cfg.calibration_mode, cfg.score_augmented) == ("train", False)
    cfg = Point("quick", 16, "scratch", "eval", 42).config()
    assert not cfg.pretrained and cfg.calibration_mode == "eval" and cfg.score_augmented
    assert set(CALIBRATIONS) == {"eval", "train"}


@pytest.mark.slow
def test_the_study_records_each_point_and_resumes(tmp_path, cifar):
    logs = []
    study = Study("smoke", widths=(8,), seeds=(42,), standin_epochs=1, standin_skip=4980)
    table = run_study(cifar, tmp_path, study, log=logs.append)
    assert len(table) == 4 and set(table["start"]) == {"scratch", "stand-in"}
    assert table["sparsity"].between(0, 1).all() and (table["gamma0"] > 0).all()
    assert weights_path(tmp_path, 8).exists() and sum("sparsity study" in m and "ETA" in m for m in logs) == 4
    from selcore.studies.sparsity_study import sessions_path
    session = json.loads(sessions_path(tmp_path).read_text())
    assert len(session) == 1 and session[0]["points_to_measure"] == 4 and session[0]["git_commit"]
    g = table.set_index(["start", "calibration"])["gamma0"]
    assert g["stand-in", "eval"] != g["scratch", "eval"]  # the stand-in is another scorer, hence another gamma0
    # a crash after three points: the rerun measures only the fourth, and measures it again the same
    table.head(3).to_csv(points_path(tmp_path), index=False)
    logs.clear()
    again = run_study(cifar, tmp_path, study, log=logs.append)
    assert sum("sparsity study" in m for m in logs) == 1 and not again.duplicated(KEY).any()
    cols = KEY + ["gamma0", "sparsity"]
    pd.testing.assert_frame_equal(again[cols], table[cols])


def test_a_point_measures_what_the_sel95_run_trains_first(tiny_results, cifar):
    """A point's gamma0 and sparsity are those of the SEL-95 run of the same configuration: its calibration and its
    first epoch (the run made by the tiny_results fixture; the committed quick runs were made by an earlier engine,
    see the chapter)."""
    from conftest import tiny
    from selcore.studies.sparsity_study import first_epoch
    cfg = tiny("sel95")
    hist = pd.read_csv(tiny_results / "hist_sel95.csv")
    run = json.loads((tiny_results / "run_sel95.json").read_text())
    data = DeviceData(cifar, torch.device("cpu"), cfg.train_per_class, cfg.held_out_per_class, cfg.test_per_class)
    gamma0, sparsity = first_epoch(cfg, data)
    assert gamma0 == pytest.approx(run["prior_cost"]["gamma0"], rel=1e-5)
    assert sparsity == pytest.approx(float(hist["sparsity"].iloc[0]), abs=1e-6) and 0 < sparsity < 1


def test_the_commands_refuse_bad_input_in_one_line(capsys):
    from selcore.cli import main
    assert main(["sparsity", "--widths", "16,x"]) == 2
    assert main(["standin", "--width", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "--widths" in err[0] and "--width=0" in err[1]
    from selcore.cli import argv_command  # Ctrl-C's message names what a rerun resumes from, by command
    assert argv_command(["sparsity", "--widths", "8"]) == "sparsity" and argv_command([]) == ""


def test_the_committed_study_is_read_by_the_planned_rule():
    """The committed points (results/quick/sparsity): every planned point once, each cell's interval computed by
    hand for one cell, the rule applied to the lower ends, and the chapter's glued sentences equal to the report's."""
    import math
    from pathlib import Path
    from scipy import stats
    from selcore.book import sparsity_page as page
    from selcore.report import sparsity as sp
    root = Path(__file__).resolve().parents[1] / "results" / "quick" / "sparsity"
    points = pd.read_csv(points_path(root))
    assert len(points) == 60 and not points.duplicated(KEY).any()
    assert {(p.width, p.start, p.calibration, p.seed) for p in Study().points()} == \
        set(points[KEY].itertuples(index=False, name=None))
    cells = sp.cells(points)
    one = points[(points.width == 64) & (points.start == "scratch") & (points.calibration == "eval")].sort_values("seed")
    y = [math.log(v / (1 - v)) for v in one["sparsity"]]  # the logit scale of a fraction
    m, se = sum(y) / 5, stats.tstd(y) / math.sqrt(5)
    half = stats.t.ppf(0.975, 4) * se
    lo = 1 / (1 + math.exp(-(m - half)))
    cell = cells[(cells.width == 64) & (cells.start == "scratch") & (cells.calibration == "eval")].iloc[0]
    assert cell["lo"] == pytest.approx(lo) and cell["reaches"] == (lo >= 0.95) and cell["n"] == 5
    assert (cells["reaches"] == (cells["lo"] >= sp.RULE)).all() and len(cells) == 12
    nb = nbformat.read(Path(__file__).resolve().parents[1] / "book" / "sparsity.ipynb", as_version=4)
    glued = {o["metadata"]["scrapbook"]["name"]: o["data"]["application/papermill.record/text/plain"]
             for c in nb.cells for o in c.get("outputs", []) if o.get("metadata", {}).get("scrapbook")}
    assert glued["sp_verdict"].strip("'\"") == page.verdict(cells)
    assert glued["sp_deciding"].strip("'\"") == page.deciding_text(cells)
    assert glued["sp_effect_start"].strip("'\"") == sp.effects(cells)["start"]
