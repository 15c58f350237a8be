"""Selective Backprop, the adaptive guilt threshold, the class-weighted loss and compute budgets, on real images:
the formulas on known values, the selectors' counts, the achieved density against its target, the executed-FLOP
accounting of a selection pass, a budget's stopping epoch, and old runs still found finished."""
import json
import re

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from selcore.config import BASELINE_SCHEDULE, Config, ConfigError, EXTENSIONS
from selcore.engine import sel
from selcore.engine.data import DeviceData
from selcore.engine.experiments import Experiment, run_experiment
from selcore.engine.flops import ExecutedFlops
from selcore.engine.models import build_model
from selcore.engine.selection import (SelectiveBackprop, TopFraction, frozen_batchnorm_stats, selection_probability,
                                      top_fraction)
from selcore.engine.train import SELHook, make_optimizer, train_epoch
from tests.conftest import REPO, tiny


def test_selection_probability_is_the_losses_percentile_to_the_beta():
    history = torch.arange(10.0)  # 0..9
    losses = torch.tensor([-1.0, 4.5, 20.0])
    p = selection_probability(losses, history, beta=3.0)
    assert torch.allclose(p, torch.tensor([0.0, 0.5 ** 3, 1.0]))
    assert torch.equal(selection_probability(losses, torch.empty(0)), torch.ones(3))  # no history: keep all


def test_top_fraction_keeps_the_highest_losses_in_a_fixed_count():
    losses = torch.tensor([0.1, 3.0, 0.2, 2.0, 5.0])
    assert sorted(top_fraction(losses, 0.5).tolist()) == [1, 3, 4]  # ceil(2.5) = 3
    assert len(top_fraction(torch.rand(64), 0.5)) == 32


def test_the_selection_pass_leaves_batchnorm_running_statistics_alone(cifar):
    net = build_model(8, False, 10)
    data = DeviceData(cifar, torch.device("cpu"), 20, 10, 30)
    X = data.augment(torch.arange(64), torch.Generator().manual_seed(0))
    before = {k: b.clone() for k, b in net.named_buffers()}
    net.train()
    with frozen_batchnorm_stats(net), torch.no_grad():
        out = net(X)
    assert all(torch.equal(before[k], b) for k, b in net.named_buffers())
    with torch.no_grad():
        same = net(X)  # training mode, batch statistics: the same outputs as inside
    assert torch.allclose(out, same)
    assert any(not torch.equal(before[k], b) for k, b in net.named_buffers() if "running" in k)


@pytest.mark.parametrize("kind", ["sb", "topk"])
def test_selectors_count_forward_and_trained_images(cifar, kind):
    torch.manual_seed(0)
    data = DeviceData(cifar, torch.device("cpu"), 30, 10, 30)  # 300 images
    net = build_model(4, False, 10)
    opt = make_optimizer(net, 1e-3)
    gen = torch.Generator().manual_seed(1)
    idx = torch.arange(len(data))
    selector = SelectiveBackprop(3.0, 1024) if kind == "sb" else TopFraction(0.5)
    train_epoch(net, opt, data, idx, 64, gen, selector=selector)  # fills Selective Backprop's loss history
    res = train_epoch(net, opt, data, idx, 64, gen, selector=selector)
    assert res.forward_samples == 300
    if kind == "topk":
        assert res.samples == sum(-(-min(64, 300 - s) // 2) for s in range(0, 300, 64))  # half of each batch, rounded up
    else:
        assert 0 < res.samples < 300  # E[P] = 1/(beta+1) of the images once the history is full
        assert len(selector.history) == 600


def test_adaptive_threshold_hits_its_target_density_on_real_gradients(cifar):
    torch.manual_seed(0)
    data = DeviceData(cifar, torch.device("cpu"), 20, 10, 30)
    net = build_model(8, False, 10)
    opt = make_optimizer(net, 1e-3)
    sample = sel.GradientSample(net, 65536, seed=42)
    sample2 = sel.GradientSample(net, 65536, seed=42)
    assert all(torch.equal(a, b) for a, b in zip(sample.positions, sample2.positions))  # fixed by the seed
    assert abs(sum(len(p) for p in sample.positions) - 65536) < len(sample.positions)
    for target in (0.05, 0.3):
        hook = SELHook(opt, 1e-3, None, 10, target_density=target, sample=sample)
        res = train_epoch(net, opt, data, torch.arange(len(data)), 64, torch.Generator().manual_seed(0), [hook])
        assert abs((1 - res.extra["sparsity"]) - target) < 0.01, (target, res.extra["sparsity"])
        assert res.extra["gamma"] > 0


def test_density_gamma_is_the_quantile_that_keeps_the_target_fraction():
    g = torch.linspace(-1, 1, 10001)
    gamma = sel.density_gamma(g, 0.1)
    assert abs(float((g.abs() > gamma).float().mean()) - 0.1) < 1e-3


def test_embarrassment_weights_weight_each_image_by_its_class_embarrassment():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [0.0, 2.0]])
    y = torch.tensor([0, 0, 1])
    w = sel.embarrassment_weights(logits, y, num_classes=2, temperature=1.5)
    E = sel.class_embarrassment(logits, y, 2, 1.5)
    assert torch.allclose(w, E[y]) and w[0] == w[1]
    ce = F.cross_entropy(logits, y, reduction="none")
    assert w[0] > w[2]  # class 0 holds a misclassified image: more embarrassing
    weighted = (w * ce).sum() / w.sum()
    assert weighted > ce.mean()  # the hard class weighs more


@pytest.mark.slow
def test_selection_forward_passes_are_charged_to_executed_flops(tmp_path, cifar):
    cfg = tiny("sb", train_per_class=30, num_epochs=3)
    run_experiment(cfg, tmp_path, data=cifar)
    h = pd.read_csv(tmp_path / "hist_sb.csv")
    net = build_model(cfg.width, False, 10)
    fl = ExecutedFlops(net)
    trained, forward = h["samples_seen"].diff().fillna(h["samples_seen"]), h["forward_samples"].diff().fillna(h["forward_samples"])
    expected = [fl.train_epoch(int(t), cfg.batch_size) + fl.forward_pass(int(f), cfg.batch_size)
                for t, f in zip(trained, forward)]
    assert list(forward) == [0, 300, 300]  # the first epoch trains everything, then every image is scored
    assert (trained.iloc[1:] < 300).all()
    assert h["exec_flops_T"].diff().fillna(h["exec_flops_T"]).mul(1e12).round().tolist() == \
        pytest.approx(expected, rel=1e-9)


@pytest.mark.slow
def test_a_budget_stops_at_the_first_epoch_that_reaches_it(tmp_path, cifar):
    base = tiny("baseline", train_per_class=30, num_epochs=4)
    per_epoch = ExecutedFlops(build_model(8, False, 10)).train_epoch(300, base.batch_size)
    run_experiment(base.replace(budget=0.5), tmp_path / "b", data=cifar)
    h = pd.read_csv(tmp_path / "b" / "hist_baseline.csv")
    assert len(h) == 2 and h["exec_flops_T"].iloc[-1] * 1e12 == pytest.approx(2 * per_epoch)
    run_experiment(tiny("sb", train_per_class=30, num_epochs=4, budget=0.5), tmp_path / "s", data=cifar)
    s = pd.read_csv(tmp_path / "s" / "hist_sb.csv")
    budget = 0.5 * 4 * per_epoch / 1e12
    assert s["exec_flops_T"].iloc[-1] >= budget > s["exec_flops_T"].iloc[-2]
    assert len(s) >= 3  # Selective Backprop's epochs are cheaper: more of them fit
    assert json.loads((tmp_path / "s" / "run_sb.json").read_text())["status"] == "finished"


def test_budget_only_for_the_baseline_schedule_and_values_checked():
    for name in EXTENSIONS:
        assert (name in BASELINE_SCHEDULE) == (name in ("sb", "sb_topk", "adaptive_dense", "classweight_dense"))
    with pytest.raises(ConfigError, match="budget.*sel95"):
        Config(experiment="sel95", budget=0.5)
    for bad in (dict(target_density=0), dict(target_density=1.5), dict(sb_fraction=0), dict(sb_beta=-1),
                dict(budget=-1), dict(sb_history=0)):
        with pytest.raises(ConfigError, match=list(bad)[0]):
            Config(experiment="sb", **bad)


def test_runs_recorded_before_the_new_fields_still_count_as_finished(cifar):
    """The committed quick runs' run.json predate budget, sb_* and target_density: their defaults reproduce what
    ran, so the book does not retrain them."""
    from selcore.profiles import profile_config
    folder = REPO / "results" / "quick" / "seed42"
    if not (folder / "run_baseline.json").exists():
        pytest.skip("no committed quick results in this checkout")
    recorded = json.loads((folder / "run_baseline.json").read_text())["identity"]
    assert "budget" not in recorded  # written before the field existed
    assert recorded["eval_batch_size"] == 1000  # since then bookkeeping (the same numbers at 200)
    cfg = profile_config("quick", "baseline", data=str(REPO.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"))
    assert Experiment(cfg, folder, data=cifar).is_finished()
    assert not Experiment(cfg.replace(budget=0.5), folder, data=cifar).is_finished()


def _points():
    from selcore.report import equal_compute as ec
    rows = []
    for seed, noise in ((42, 0.0), (43, 1.0), (44, -1.0)):
        for e, b, acc, fl, t in (("baseline", 0.0, 30, 10.0, 100), ("baseline", 0.5, 25, 5.0, 50),
                                 ("sb", 0.5, 28, 5.2, 40), ("sel95", 0.0, 20, 6.0, 60)):
            rows.append({"method": ec.FAMILIES[e], "point": ec.point_name(e, b), "experiment": e, "budget": b,
                         "seed": seed, "test_100": acc + noise, "test_full": acc, "exec_flops_T": fl, "flops_T": 0.1,
                         "sparsity": 0.0, "epochs": 8, "wall_s": t + noise, "folder": "x"})
    runs = ec.relative_to_baseline(pd.DataFrame(rows))
    return ec, runs, ec.per_point(runs)


def test_equal_compute_points_frontier_and_cheapest_per_target():
    ec, runs, points = _points()
    assert runs.loc[(runs.experiment == "sb"), "exec_pct"].round(6).tolist() == [52.0] * 3
    sb = points[points.experiment == "sb"].iloc[0]
    assert sb["n"] == 3 and sb["test_100"] == pytest.approx(28) and sb["test_100 lo"] < 28 < sb["test_100 hi"]
    front = points[ec.pareto(points)]
    assert set(front.experiment + "@" + front.budget.astype(str)) == {"baseline@0.5", "sb@0.5", "baseline@0.0"}
    # SEL-95 (20% at 6 T) is beaten by Selective Backprop (28% at 5.2 T): not on the frontier
    assert "sel95" not in set(front.experiment)
    targets = ec.targets(points, (0.8, 0.9, 1.0, 1.1))
    assert targets == [24.0, 27.0, 30.0, 33.0]
    cheapest = ec.cheapest_per_target(points, targets)
    assert list(cheapest["method"]) == ["Dense (Baseline's schedule)", "Selective Backprop",
                                        "Dense (Baseline's schedule)", "none reaches it"]
    assert cheapest["point"].tolist()[:3] == ["budget 50%", "budget 50%", "full schedule"]
    text = ec.finding(points, cheapest)
    assert "28.0 [" in text["sb"] and "52.0%" in text["sb"] and text["frontier"].startswith("Dense")
    assert text["cheapest"].startswith("24% held-out: Dense (Baseline's schedule), budget 50% with 50.0% of")
    nested = re.compile(r"\([^()]*\(")  # a parenthesis opened inside another
    assert not any(nested.search(t) for t in (text["frontier"], text["cheapest"])), text


EC_RESULTS = REPO / "results" / "quick" / "epoch_comparison.csv"


@pytest.mark.skipif(not EC_RESULTS.exists(), reason="needs the committed quick equal-compute runs")
def test_the_committed_equal_compute_runs_meet_their_targets():
    """The equal-compute chapter's runs, read from the committed CSVs: every job finished; Selective Backprop's
    selective epochs executed fewer FLOPs than a Baseline epoch of the same seed; the adaptive threshold kept its
    target density in every SEL epoch; the one-run epoch comparison has both of Selective Backprop's ratios below 1."""
    from selcore.book.equal_compute_page import planned_jobs
    from selcore.report import equal_compute as ec
    from selcore.sweep.status import job_state
    jobs = planned_jobs("quick", None, "0.25,0.5", "cifar10-jpeg.tar.gz", str(REPO / "results"))
    assert all(job_state(j, {}, set()).name == "finished" for j in jobs if j.kind == "experiment")
    runs = ec.relative_to_baseline(ec.run_rows(jobs))
    points = ec.per_point(runs)
    assert (points["n"] == 3).all() and len(points) == 13
    for seed in (42, 43, 44):
        folder = REPO / "results" / "quick" / f"seed{seed}"
        base = pd.read_csv(folder / "hist_baseline.csv")["exec_flops_T"].diff().dropna()
        for b in ("0.25", "0.5"):
            sb = pd.read_csv(REPO / "results" / "quick" / f"budget{b}" / f"seed{seed}" / "hist_sb.csv")
            assert (sb["exec_flops_T"].diff().iloc[1:] < base.min()).all()
        for e in ("adaptive", "classweight", "adaptive_dense", "classweight_dense"):
            h = pd.read_csv(folder / f"hist_{e}.csv")
            assert ((1 - h["sparsity"]) - 0.05).abs().max() < 0.005, e
    epochs = pd.read_csv(EC_RESULTS).set_index("step")
    assert epochs.loc["dense", "time_ratio"] == 1.0
    for step in ("sb", "sb_topk"):
        assert epochs.loc[step, "time_ratio"] < 1 and epochs.loc[step, "flops_ratio"] < 1, epochs


@pytest.mark.slow
def test_a_budgeted_run_interrupted_and_resumed_equals_the_uninterrupted(tmp_path, cifar, monkeypatch):
    from tests.test_resume_all import _interrupt_after
    cfg = tiny("sb", train_per_class=30, num_epochs=4, budget=0.5)
    run_experiment(cfg, tmp_path / "ref", data=cifar)
    restore = _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, tmp_path / "out", data=cifar)
    restore()
    run_experiment(cfg, tmp_path / "out", data=cifar)
    a, b = (pd.read_csv(tmp_path / d / "hist_sb.csv").drop(columns="time_s") for d in ("ref", "out"))
    assert len(a) >= 3
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    run_experiment(cfg, tmp_path / "out", data=cifar)  # finished: skipped, nothing appended
    assert len(pd.read_csv(tmp_path / "out" / "hist_sb.csv")) == len(a)


def test_baseline_epoch_seconds_of_the_committed_quick_runs():
    """The spread the chapter states is read from the committed Baseline runs (full schedule and budget points): every
    epoch after each run's first, positive seconds, stated from the fastest to the slowest."""
    from selcore.book.equal_compute_page import planned_jobs
    from selcore.report import equal_compute as ec
    from selcore.report.stats import epoch_spread_text
    if not (REPO / "results" / "quick" / "seed42" / "run_baseline.json").exists():
        pytest.skip("no committed quick results in this checkout")
    jobs = planned_jobs("quick", None, "0.25,0.5", "data.tar", str(REPO / "results"))
    seconds = ec.baseline_epoch_seconds(jobs)
    epochs = {0.0: 8, 0.25: 2, 0.5: 4}  # the quick Baseline's epochs at each budget point
    assert len(seconds) == sum(3 * (n - 1) for n in epochs.values()) and (seconds > 0).all()
    text = epoch_spread_text(seconds)
    assert text.startswith(f"from {seconds.min():.1f} to {seconds.max():.1f} s") and text.endswith(f"over {len(seconds)} epochs")
    assert epoch_spread_text(seconds.iloc[0:0]).startswith("not measured")
