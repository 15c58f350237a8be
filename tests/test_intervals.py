"""Intervals inside their quantity's range, one-sided tests that are the interval's reading, Holm's adjustment,
the seeds a threshold needs, and the ledger's categories recomputed from the committed runs and the original's
own CSVs."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from selcore.paths import original_results_dir
from selcore.report import catalogue, claims, measures, original_rows, rules
from selcore.report.power import power_one_sided, seeds_for_power
from selcore.report.stats import (NONNEGATIVE, PERCENT, PP, SAVED, UNBOUNDED, Bounds, bounds_of, holm, mean_ci,
                                  p_greater, p_less)
from selcore.report.stats import seed_folders
from tests.conftest import REPO

QUICK = REPO / "results" / "quick"


def test_unbounded_is_the_plain_t_interval():
    st = mean_ci([1.0, 2.0, 3.0, 4.0])
    half = sps.t.ppf(0.975, 3) * np.std([1, 2, 3, 4], ddof=1) / 2
    assert (st["lo"], st["hi"]) == pytest.approx((2.5 - half, 2.5 + half)) and st["method"] == "t interval"


@pytest.mark.parametrize("values, bounds", [
    ([76.9, 99.0, 55.0], PERCENT),           # sparsity: a plain t interval runs past 100
    ([99.9, 99.5, 98.0], PERCENT),           # close to the upper end
    ([0.2, 0.05, 1.5], PERCENT),             # close to the lower end
    ([64.8, 99.0, 30.0], SAVED),             # bytes saved: at most 100
    ([0.1, 2.0, 0.9], NONNEGATIVE),          # a mean of absolute values
    ([-99.0, -80.0, -95.0], PP),
])
def test_intervals_stay_inside_the_range_near_its_bounds(values, bounds):
    plain = mean_ci(values)
    st = mean_ci(values, bounds=bounds)
    lower = -math.inf if bounds.lower is None else bounds.lower
    upper = math.inf if bounds.upper is None else bounds.upper
    assert lower <= st["lo"] < st["hi"] <= upper
    assert st["mean"] == pytest.approx(np.mean(values)) and st["values"] == values
    assert plain["lo"] < lower or plain["hi"] > upper or bounds is NONNEGATIVE  # the plain one would not
    # on the scale: the t interval of the transformed values, transformed back
    y = bounds.forward(values)
    half = sps.t.ppf(0.975, 2) * np.std(y, ddof=1) / math.sqrt(3)
    ends = sorted(bounds.backward([np.mean(y) - half, np.mean(y) + half]))
    assert (st["lo"], st["hi"]) == pytest.approx(ends)


def test_a_value_on_a_bound_gives_the_clipped_t_interval():
    st = mean_ci([0.0, 1.5, 0.8], bounds=NONNEGATIVE)
    plain = mean_ci([0.0, 1.5, 0.8])
    assert st["lo"] == 0.0 and st["hi"] == pytest.approx(plain["hi"]) and "clipped" in st["method"]
    assert mean_ci([64.5] * 3, bounds=SAVED)["lo"] == mean_ci([64.5] * 3, bounds=SAVED)["hi"] == 64.5


def test_one_sided_p_values_are_the_intervals_reading():
    for values, bounds in (([90.0, 92.0, 95.0], PERCENT), ([3.0, -1.0, 2.0], PP), ([40.0, 70.0, 85.0], SAVED),
                           ([1.0, 2.0, 3.5], UNBOUNDED)):
        st = mean_ci(values, bounds=bounds)
        assert p_greater(st, st["lo"]) == pytest.approx(0.025)
        assert p_less(st, st["hi"]) == pytest.approx(0.025)
        inside = (st["lo"] + st["hi"]) / 2
        assert p_greater(st, inside) > 0.025 and p_less(st, inside) > 0.025


def test_holm_on_a_known_example():
    # Holm (1979) by hand: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04 -> monotone 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, float("nan"), 0.01]) == pytest.approx([0.5, float("nan"), 0.02], nan_ok=True)


def _simulated_power(n: int, margin: float, sd: float, band: bool, reps: int = 20000) -> float:
    """The share of simulated experiments (normal per-seed values on the interval's scale, true mean ``margin``
    beyond the threshold 0, or at the centre of the band [-margin, margin]) whose 95% t interval clears it."""
    rng = np.random.default_rng(0)
    x = rng.normal(0.0 if band else margin, sd, size=(reps, n))
    half = sps.t.ppf(0.975, n - 1) * x.std(axis=1, ddof=1) / math.sqrt(n)
    m = x.mean(axis=1)
    ok = (m - half >= -margin) & (m + half <= margin) if band else m - half > 0
    return float(ok.mean())


@pytest.mark.parametrize("margin, sd, band", [(0.916, 0.47, False), (0.5, 1.0, False), (4.0, 3.0, True),
                                              (1.0, 0.8, True)])
def test_seeds_for_power_reaches_80_percent_in_a_simulation(margin, sd, band):
    n = seeds_for_power(margin, sd, band=band)
    assert n is not None and n >= 2
    assert _simulated_power(n, margin, sd, band) >= 0.79  # 80% at n (Monte Carlo error about 0.003)
    if n > 2:
        assert _simulated_power(n - 1, margin, sd, band) < 0.80 + (0.08 if band else 0.01)  # and not already at n - 1
    if not band:  # the one-sided formula is exact (noncentral t): it matches the simulation
        assert power_one_sided(n, margin, sd) == pytest.approx(_simulated_power(n, margin, sd, band), abs=0.01)


def test_seeds_for_power_needs_a_margin():
    assert seeds_for_power(0.0, 1.0) is None and seeds_for_power(-1.0, 1.0) is None
    assert seeds_for_power(0.01, 10.0) is None  # more than the cap of 1,000 seeds
    assert power_one_sided(5, 0.916, 0.4704) == pytest.approx(0.895, abs=0.002)


def test_bounds_of_named_columns():
    assert bounds_of("test_100") == PERCENT and bounds_of("sparsity") == Bounds(0.0, 1.0)
    assert bounds_of("exec_flops_T") == NONNEGATIVE and bounds_of("FLOPs saved %") == SAVED
    assert bounds_of("cil_forgetting") == PP and bounds_of("percentile") == UNBOUNDED


@pytest.fixture(scope="module")
def ledger():
    return claims.ledger(seed_folders(QUICK), "quick", original_results_dir())


def test_the_full_test_discrepancy_is_recomputed_from_the_originals_csvs(ledger):
    count, detail = original_rows.original_full_test(original_results_dir())
    assert count == 3  # Lottery 92.71 printed 93.0, SEL-95 77.26 printed 77.5, Warmup 84.70 printed 85.3
    assert "Lottery Ticket prints 93.0, its CSV's full test is 92.71 and its 100/class 93.00" in detail
    assert "Baseline" not in detail  # it prints 92.5, its CSV's full test 92.52
    assert ledger.loc["full_test", "verdict"] == "a discrepancy in the original's published numbers"


def test_each_rows_category_follows_from_the_runs(ledger):
    assert ledger.loc["sel_accuracy", "verdict"] == rules.ORIGINAL_REGIME
    assert ledger.loc["adaptive_gamma", "verdict"] == "an implementation check of a planned feature"
    assert ledger.loc["adaptive_gamma", "kind"] == "plan" and ledger.loc["per_class_gamma", "kind"] == "plan"
    assert ledger.loc["full_test", "kind"] == "table" and (ledger["kind"] == "claim").sum() == 11
    tested = ledger[ledger["p (Holm)"].notna()]
    assert len(tested) == 10 and set(tested["reading"]) <= set(rules.TESTED)
    for key, row in tested.iterrows():  # recomputed from the per-seed values by the rule
        c = catalogue.CLAIM[key]
        st = mean_ci([float(v) for v in row["per seed"].split(", ")], bounds=c.bounds)
        rule = c.revision.rule if row["rule applied"] != "original" else c.rule  # the rule that read these runs
        assert rule.verdict(st) == row["reading (unadjusted)"], key
        assert row["p (Holm)"] >= row["p"]
    # the deterministic FLOP counts decide at any n; the Holm-adjusted reading is never bolder than the plain one
    assert ledger.loc["flops_saved", "reading"] == "refuted"
    bolder = (ledger["reading (unadjusted)"] == "inconclusive at this n") & (ledger["reading"] != "inconclusive at this n")
    assert not bolder.any()
    assert claims.counts_text(ledger).startswith("Of the original's 11 claims about its results, ")


def _speed(day: str, rounds=((100.0, 150.0, 1000.0), (90.0, 160.0, 900.0), (110.0, 140.0, 1100.0))):
    return pd.DataFrame([{"step": step, "round": k + 1, "images_per_s": v, "time_utc": f"{day}T10:00:00Z"}
                         for k, r in enumerate(rounds) for step, v in zip(("dense", "sel", "eval"), r)])


def test_the_speed_rule_revised_in_the_open_reads_a_controlled_timing_made_after_it():
    seeds = [measures.Seed(f) for f in seed_folders(QUICK)]
    import json
    info = json.loads((QUICK / "seed42" / "run_sel95.json").read_text())
    sel, base = seeds[0].hist("sel95"), seeds[0].hist("baseline")
    prior, tests = info["prior_cost"]["samples"], 10 * info["config"]["test_per_class"]
    calib = info["config"]["calib_size"]
    t_sel = (sel["samples_seen"].iloc[-1] - prior) / 150 + (prior - calib) / 1000 + calib / 100 + len(sel) * tests / 1000
    t_base = base["samples_seen"].iloc[-1] / 100 + len(base) * tests / 1000
    values = measures.controlled_saving(seeds, _speed("2026-12-02"))
    assert len(values) == 3 and values[0] == pytest.approx(100 * (1 - t_sel / t_base))  # every seed trains alike
    after = claims.ledger(seed_folders(QUICK), "quick", original_results_dir(), _speed("2026-12-02"))
    assert after.loc["faster", "n"] == 3 and after.loc["faster", "rule applied"] == "revised 2026-12-02"
    assert "interleaved epochs in one session" in after.loc["faster", "measured"]
    assert after.loc["faster", "per seed"] == ", ".join(f"{v:.2f}" for v in values)
    before = claims.ledger(seed_folders(QUICK), "quick", original_results_dir(), _speed("2026-11-30"))
    assert before.loc["faster", "rule applied"] == "original"  # a timing older than the revision: the old rule
    assert before.loc["faster", "per seed"] == "31.11, 9.84, 22.45"  # the runs' own clocks
    assert list(catalogue.revisions()["date"]) == ["2026-12-02", "2026-12-02"]
