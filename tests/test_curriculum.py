"""The curriculum under the original code's rules: which network scores, augmented scoring, calibration."""
import pytest
import torch

from conftest import tiny
from selcore.engine import curriculum, sel
from selcore.engine.data import DeviceData


@pytest.fixture(scope="module")
def data(cifar):
    return DeviceData(cifar, torch.device("cpu"), train_per_class=30, held_out_per_class=5, test_per_class=5)


@pytest.mark.slow
def test_augmented_scoring_draws_the_training_augmentation_from_a_generator_seeded_with_the_run(data):
    cfg = tiny("sel95", train_per_class=30, calib_size=64)
    idx = torch.arange(len(data))
    # the images the scorer sees are exactly DeviceData.augment's with a generator seeded by cfg.seed
    gen = torch.Generator().manual_seed(cfg.seed)
    seen = curriculum.scoring_images(cfg, data, idx, gen)
    expect = data.augment(idx, torch.Generator().manual_seed(cfg.seed))
    assert torch.equal(seen, expect) and not torch.equal(seen, data.train_eval_batch(idx))
    a = curriculum.compute_curriculum(cfg, data)
    b = curriculum.compute_curriculum(cfg, data)
    assert torch.equal(a["scores"], b["scores"]) and a["gamma0"] == b["gamma0"]  # reproducible per seed
    other = curriculum.compute_curriculum(cfg.replace(seed=cfg.seed + 1), data)
    assert not torch.equal(a["scores"], other["scores"])
    # the scores are the scorer's eval-mode losses on those augmented images
    scorer = curriculum.scorer_model(cfg, data.num_classes)
    assert torch.allclose(a["scores"], sel.difficulty_scores(scorer, expect, data.train_y, cfg.eval_batch_size), atol=1e-5)
    clean = curriculum.compute_curriculum(cfg.replace(score_augmented=False), data)
    assert torch.allclose(clean["scores"], sel.difficulty_scores(scorer, data.train_eval_batch(idx), data.train_y,
                                                  cfg.eval_batch_size), atol=1e-5)
    assert a["rules"] == {"calibration_mode": "eval", "score_augmented": True, "conv1_init": "default"}


def test_calibration_uses_the_configured_mode_on_the_augmented_first_batch(data):
    cfg = tiny("sel95", train_per_class=30, calib_size=64)
    cur = curriculum.compute_curriculum(cfg, data)
    scorer = curriculum.scorer_model(cfg, data.num_classes)
    gen = torch.Generator().manual_seed(cfg.seed)
    curriculum.scoring_images(cfg, data, torch.arange(len(data)), gen)  # the scoring pass comes first
    calib = torch.arange(64)
    x = curriculum.scoring_images(cfg, data, calib, gen)
    assert cur["gamma0"] == pytest.approx(sel.calibrate_gamma(scorer, x, data.train_y[calib], 40, mode="eval"))
    train = curriculum.compute_curriculum(cfg.replace(calibration_mode="train"), data)
    assert train["gamma0"] == pytest.approx(sel.calibrate_gamma(scorer, x, data.train_y[calib], 40, mode="train"))
    assert train["gamma0"] != pytest.approx(cur["gamma0"], rel=0.05)  # and the two rules really differ here
    assert torch.equal(train["scores"], cur["scores"])  # the mode changes gamma0, not the order


def test_scorer_is_the_first_draw_and_the_training_model_the_next(data):
    cfg = tiny("sel95")
    scorer = curriculum.scorer_model(cfg, 10)
    net = curriculum.training_model(cfg, 10)
    same = curriculum.training_model(cfg.replace(scorer="same_init"), 10)
    assert not torch.equal(scorer.conv1.weight, net.conv1.weight)
    assert all(torch.equal(a, b) for a, b in zip(scorer.state_dict().values(), same.state_dict().values()))
    torch.manual_seed(0)
    state = torch.random.get_rng_state()
    curriculum.scorer_model(cfg, 10)
    assert torch.equal(torch.random.get_rng_state(), state)  # the scorer leaves the training stream alone


def test_calibration_ablation_uses_the_earlier_rule_and_its_own_cache(tmp_path):
    cfg = tiny("calib_train_clean")
    eff = curriculum.curriculum_config(cfg)
    assert (eff.calibration_mode, eff.score_augmented) == ("train", False)
    assert curriculum.curriculum_path(cfg, tmp_path) != curriculum.curriculum_path(cfg.replace(experiment="sel95"), tmp_path)
    assert curriculum.curriculum_path(tiny("warmup"), tmp_path) == curriculum.curriculum_path(tiny("sel95"), tmp_path)
