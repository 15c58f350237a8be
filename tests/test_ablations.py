"""Issue 4's measurements on real images: ablations at SEL-95's budget, the three compute views,
update density under Adam and SGD, the difficulty-order check, seeds and the claims ledger."""
import json

import pandas as pd
import pytest
import torch

from selcore.report import claims, rules, stats
from selcore.config import ABLATIONS
from selcore.engine.experiments import Experiment, run_experiment
from selcore.engine.flops import ExecutedFlops, ideal_sparse_flops
from selcore.engine.train import UpdateDensityHook, make_optimizer
from selcore.engine.data import CLASSES
from tests.conftest import global_state_kept, tiny


@pytest.fixture(scope="module")
def ablation_results(tmp_path_factory, cifar):
    out = tmp_path_factory.mktemp("ablations")
    with global_state_kept():
        for e in ("baseline", "sel95") + ABLATIONS:
            run_experiment(tiny(e), out, data=cifar)
    return out


def _train_samples(folder, e):
    df = pd.read_csv(folder / f"hist_{e}.csv")
    prior = json.loads((folder / f"run_{e}.json").read_text())["prior_cost"]["samples"]
    return int(df["samples_seen"].iloc[-1]) - prior


@pytest.mark.slow  # the tests on ablation_results: real runs of every ablation
@pytest.mark.parametrize("name", ABLATIONS)
def test_each_ablation_sees_sel95s_sample_budget(ablation_results, name):
    assert _train_samples(ablation_results, name) == _train_samples(ablation_results, "sel95")


@pytest.mark.slow
def test_ablations_switch_the_parts_off(ablation_results):
    h = {e: pd.read_csv(ablation_results / f"hist_{e}.csv") for e in ("sel95",) + ABLATIONS}
    assert h["curriculum_only"]["sparsity"].eq(0).all() and h["random_windows"]["sparsity"].eq(0).all()
    assert (h["mask_only"]["sparsity"] > 0).all() and (h["oracle_order"]["sparsity"] > 0).all()
    assert "stage" not in h["dense_budget"] and "stage" in h["curriculum_only"]
    # the same images as sel95, epoch by epoch (the phases themselves: test_curriculum_only_is_sel95_unmasked)
    assert h["curriculum_only"]["samples_seen"].tolist() == h["sel95"]["samples_seen"].tolist()
    run = json.loads((ablation_results / "run_oracle_order.json").read_text())
    assert any("trained Baseline" in w for w in run["prior_cost"]["what"])
    # the order agreement is stored at training time: the book reads it without the Baseline's checkpoint
    agreement = run["prior_cost"]["order_agreement"]
    assert set(agreement["spearman"]) == set(CLASSES) and all(-1 <= r <= 1 for r in agreement["spearman"].values())
    picks = agreement["extremes"]["trained Baseline"]
    assert all(len(picks[c]) == 6 and len(set(picks[c])) == 6 for c in CLASSES)  # 20 images/class: 3 + 3 distinct


def test_curriculum_only_is_sel95_unmasked(cifar, tmp_path):
    plans = {}
    for e in ("sel95", "curriculum_only"):
        exp = Experiment(tiny(e), tmp_path, data=cifar)
        exp.setup()
        plans[e] = exp.plan()
    assert len(plans["sel95"]) == len(plans["curriculum_only"]) == 5
    for only, sel in zip(plans["curriculum_only"], plans["sel95"]):
        assert torch.equal(only.data.indices, sel.data.indices)
        assert (only.epochs, only.log.stage) == (sel.epochs, sel.log.stage)
        assert only.gradient.gamma is None and not only.gradient.scale_lr  # no guilt mask, constant lr
        assert sel.gradient.gamma > 0 and sel.gradient.scale_lr


def test_oracle_order_needs_a_finished_baseline(tmp_path, cifar):
    from selcore.config import ConfigError
    with pytest.raises(ConfigError, match="needs the finished baseline"):
        Experiment(tiny("oracle_order"), tmp_path, data=cifar).run()


def test_random_windows_have_the_stage_sizes_but_other_images(cifar, tmp_path):
    exp = Experiment(tiny("random_windows"), tmp_path, data=cifar)
    exp.setup()
    sel = Experiment(tiny("sel95"), tmp_path, data=cifar)
    sel.setup()
    for p_rand, p_sel in zip(exp.plan(), sel.plan()):
        assert len(p_rand.data.indices) == len(p_sel.data.indices)
        assert torch.bincount(exp.data.train_y[p_rand.data.indices], minlength=10).tolist() == \
            torch.bincount(sel.data.train_y[p_sel.data.indices], minlength=10).tolist()
    assert any(not torch.equal(torch.sort(a.data.indices).values, torch.sort(b.data.indices).values)
               for a, b in zip(exp.plan(), sel.plan()))


@pytest.mark.slow
def test_three_compute_views(ablation_results):
    for e in ("baseline", "sel95", "dense_budget"):
        df = pd.read_csv(ablation_results / f"hist_{e}.csv")
        assert (df["ideal_flops_T"] <= df["exec_flops_T"] + 1e-12).all()
        assert (df["exec_eval_flops_T"] > 0).all() and df["exec_eval_flops_T"].is_monotonic_increasing
        if e != "sel95":
            assert df["ideal_flops_T"].tolist() == pytest.approx(df["exec_flops_T"].tolist())
    sel = pd.read_csv(ablation_results / "hist_sel95.csv")
    assert (sel["ideal_flops_T"] < sel["exec_flops_T"]).iloc[-1]


def test_ideal_sparse_formula_on_a_known_model():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3072, 10))
    f = ExecutedFlops(net)
    # a linear layer: train = forward + weight gradient (= forward); all weight gradients zeroed -> forward
    assert ideal_sparse_flops(f.train(8), f.forward(8), 1.0) == f.forward(8)
    assert ideal_sparse_flops(f.train(8), f.forward(8), 0.0) == f.train(8)


@pytest.mark.parametrize("kind, moved", [("sgd", 2), ("adam", 4)])
def test_update_density_on_a_hand_made_step(kind, moved):
    net = torch.nn.Linear(2, 2, bias=False)
    opt = make_optimizer(net, 0.1, kind)
    hook = UpdateDensityHook(net)
    hook.start_epoch()
    net.weight.grad = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # step 1: two live entries
    hook.after_backward(net)
    opt.step()
    hook.after_step(net)
    net.weight.grad = torch.tensor([[0.0, 0.0], [0.0, 1.0]])  # step 2: one live entry
    hook.after_backward(net)
    opt.step()
    hook.after_step(net)
    # SGD moves exactly the live entries (2 then 1); Adam's momentum moves step 1's entries again (2 then 2)
    expect = {"sgd": (2 + 1) / 8, "adam": (2 + 2) / 8}[kind]
    assert hook.end_epoch(2)["update_density"] == pytest.approx(expect)


def test_difficulty_agreement_is_spearman_per_class():
    from selcore.engine.difficulty import extremes, rank_agreement
    y = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    a = torch.tensor([1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0, 1.0, 2.0, 3.0])
    b = torch.tensor([10.0, 20.0, 30.0, 3.0, 2.0, 1.0, 4.0, 3.0, 2.0, 1.0])
    rho = rank_agreement(a, b, y, ("x", "z", "t"))
    assert rho["x"] == pytest.approx(1.0) and rho["z"] == pytest.approx(-1.0)
    # ties take the average rank: ranks (1.5, 1.5, 3, 4) vs (4, 3, 2, 1), Pearson of the ranks by hand
    ra, rb = torch.tensor([1.5, 1.5, 3.0, 4.0]), torch.tensor([4.0, 3.0, 2.0, 1.0])
    ra, rb = ra - ra.mean(), rb - rb.mean()
    assert rho["t"] == pytest.approx(float((ra * rb).sum() / (ra.norm() * rb.norm())))
    assert extremes(a, y, ("x", "z", "t"), k=1) == {"x": [0, 2], "z": [3, 5], "t": [6, 9]}  # ties: training order


def test_mean_ci_and_t_quantiles():
    s = stats.mean_ci([1.0, 2.0, 3.0])
    assert s["mean"] == 2.0 and s["std"] == pytest.approx(1.0)
    assert s["hi"] - s["mean"] == pytest.approx(4.302652729911275 / 3 ** 0.5)  # t(0.975, 2 df), scipy.stats.t
    # beyond 30 degrees of freedom too (the former table fell back to 1.96): t(0.975, 40) and the std of 0..40
    assert stats.mean_ci(range(41))["hi"] - 20 == pytest.approx(2.021075390306273 * 11.979148550710939 / 41 ** 0.5)
    assert stats.mean_ci([5.0])["n"] == 1 and pd.isna(stats.mean_ci([5.0])["lo"])
    same = stats.mean_ci([2.97377, 2.97377, 2.97377])   # no seed changes it: exactly no spread
    assert same["std"] == 0.0 and same["lo"] == same["hi"] == same["mean"] == 2.97377



def test_format_ci_is_the_one_text_form():
    assert stats.format_ci(-0.01, -0.04, 0.02, 3) == "0.0 [0.0, 0.0] (n=3)"  # rounding, not lack of spread
    assert stats.format_ci(35.5, 35.5, 35.5, 6) == "35.5 (n=6)"  # no spread across the seeds: the value alone
    assert stats.format_ci(-1.25, -2.0, -0.5, 3, digits=2) == "-1.25 [-2.00, -0.50] (n=3)"
    assert stats.format_ci(5.0, float("nan"), float("nan"), 1) == "5.0 (n=1)"
    assert stats.format_ci(8.37581, 8.3, 8.4, 3, sig=3) == "8.38 [8.3, 8.4] (n=3)"
    assert stats.format_ci(52.04, 50.4, 53.6, std=0.643) == "52.0 ± 0.6 [50.4, 53.6]"  # n stated elsewhere
    assert stats.format_ci(17528.0, 17000.0, 18000.5, digits=0, grouping=True) == "17,528 [17,000, 18,000]"
    assert stats.format_ci(float("nan"), n=0) == "n/a (n=0)"
    table = stats.format_columns(stats.over_seeds([pd.DataFrame({"a": [1.0], "b": [0.5]}, index=["x"]),
                                                   pd.DataFrame({"a": [3.0], "b": [0.5]}, index=["x"])], ["a", "b"]),
                                 {"a": {"digits": 1}, "b": {"sig": 2}, "absent": {}}, {"a": "A"}, std=True)
    assert table.loc["x"].tolist() == ["2.0 ± 1.4 [-10.7, 14.7]", "0.5", 2]  # t(0.975, 1) = 12.706; no spread: the value
    assert list(table.columns) == ["A", "b", "n"]


@pytest.mark.parametrize("rule, ci, verdict", [
    (rules.Rule("at_least", 99), dict(n=3, lo=40, hi=60), "refuted"),
    (rules.Rule("at_least", 30), dict(n=3, lo=40, hi=60), "confirmed"),
    (rules.Rule("at_least", 50), dict(n=3, lo=40, hi=60), "inconclusive at this n"),
    (rules.Rule("at_most", 0), dict(n=3, lo=1, hi=2), "refuted"),
    (rules.Rule("near", 95, 5), dict(n=3, lo=91, hi=99), "confirmed"),
    (rules.Rule("near", 95, 5), dict(n=3, lo=50, hi=70), "refuted"),
    (rules.Rule("near", 95, 5), dict(n=3, lo=85, hi=95), "inconclusive at this n"),
    (rules.Rule("at_least", 30), dict(n=1, lo=float("nan"), hi=float("nan")), "inconclusive at this n"),
    (rules.Rule("differs", 0), dict(n=3, lo=-10.0, hi=-0.01), "confirmed"),
    (rules.Rule("differs", 0), dict(n=3, lo=-10.0, hi=0.0), "inconclusive at this n"),
    (rules.Rule("differs", 0), dict(n=3, lo=0.0, hi=0.0), "inconclusive at this n"),
])
def test_ledger_verdict_rule(rule, ci, verdict):
    assert rule.verdict(ci) == verdict


def test_paper_only_claims_need_the_full_protocol_at_reduced_profiles():
    r = rules.Rule("near", 77.5, 2)
    assert r.verdict(dict(n=3, lo=77, hi=78), paper_only=True, profile="quick") == "needs the full protocol"
    assert r.verdict(dict(n=3, lo=77, hi=78), paper_only=True, profile="paper") == "confirmed"


@pytest.mark.slow
def test_ledger_on_real_runs(ablation_results):
    led = claims.ledger([ablation_results], "smoke")
    assert set(led["verdict"]) <= set(rules.VERDICTS)
    assert led.loc["flops_saved", "n"] == 1 and led.loc["sel_accuracy", "verdict"] == rules.ORIGINAL_REGIME
    assert led.loc["full_test", "ours"] == "the original's CSVs are not here"  # none given: nothing computed


def test_one_run_is_written_as_one_run():
    from selcore.report import ablations as abl
    assert abl.over_text([42]) == "one run, seed 42" and abl.over_text([42, 43]) == "mean [95% CI] over n = 2 seeds"
    assert abl.shown_n(1) is None and abl.shown_n(3) == 3
    assert stats.format_ci(18.6, float("nan"), float("nan"), abl.shown_n(1)) == "18.6"
